"""What agents and requesters type or paste: any digits, anything around a number, any text in a
parameter; and the centre's day in every date filter (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tawasul.models import Request, Requester
from tests.api.support import valid_national_id

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def walk_in(client, headers, **fields):
    body = {"channel": "manual", "national_id": valid_national_id(), **fields}
    return client.post("/requests", json=body, headers=headers)


@pytest.mark.parametrize(
    "mobile",
    [
        "٠٥٠١٢٣٤٥٦٧",
        "۰۵۰۱۲۳۴۵۶۷",
        "+٩٦٦ ٥٠ ١٢٣ ٤٥٦٧",
        "\u200e+966\u00a050\u00a0123\u00a04567\u200f",
        "tel:00966501234567",
        "(050) 123\u20114567",
    ],
)
def test_a_walk_in_mobile_in_any_digits_is_stored_in_e164(client, auth, requests, mobile):
    answer = walk_in(client, auth["agent"], mobile=mobile)
    assert answer.status_code == 201, answer.json
    assert requests.get(answer.json["id"]).callback_number == "+966501234567"


@pytest.mark.parametrize("spelling", [ARABIC, PERSIAN])
def test_a_walk_in_national_id_in_any_digits_is_the_same_requester(
    client, auth, database, pii, spelling
):
    national_id = valid_national_id()
    typed = "\u200f" + national_id.translate(spelling)[:4] + " " + national_id[4:]
    first = walk_in(client, auth["agent"], national_id=typed)
    second = walk_in(client, auth["agent"], national_id=national_id)
    assert first.status_code == 201 and second.status_code == 201, first.json
    with database.sessions() as session:
        requesters = {r.requester_id for r in session.scalars(select(Request))}
        assert len(requesters) == 1
        stored = session.scalars(select(Requester)).one()
        assert pii.decrypt(stored.national_id_encrypted, "national_id") == national_id
        assert stored.national_id_hash == pii.fingerprint(national_id)
    # The duplicate is seen across spellings: both requests are of one requester.
    assert second.json["open_duplicates"][0]["id"] == first.json["id"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"mobile": "٠١١٢٣٤٥٦٧٨"}, "mobile"),  # a landline, in Arabic digits
        ({"mobile": "05٠12345²7"}, "mobile"),
        ({"national_id": "١٠١٢٣٤٥٦٧"}, "national_id"),  # nine digits
        ({"national_id": "101234567\x07"}, "national_id"),
    ],
)
def test_what_is_still_invalid_after_normalisation_is_a_422_naming_the_field(
    client, auth, fields, field
):
    answer = walk_in(client, auth["agent"], **fields)
    assert answer.status_code == 422, answer.json
    assert answer.json["details"]["field"] == field


def test_phone_last_and_reference_numbers_in_any_digits_find_the_request(client, auth, requests):
    found = requests.file(callback_number="+966501234567")
    requests.file(callback_number="+966501239999")

    def ids(**query):
        answer = client.get("/requests", query_string=query, headers=auth["agent"])
        assert answer.status_code == 200, answer.json
        return [item["id"] for item in answer.json["items"]]

    assert ids(phone_last="4567") == [found.id]
    assert ids(phone_last="٤٥٦٧") == [found.id]
    assert ids(phone_last="۴۵۶۷") == [found.id]
    assert ids(phone_last="\u200f٤٥٦٧\u200e") == [found.id]
    assert ids(phone_last="٥٦٧") == [found.id]
    reference = found.reference_number
    assert ids(reference_number=reference.translate(ARABIC)) == [found.id]
    assert ids(reference_number=f"{reference[:3]} {reference[3:6]}-{reference[6:]}") == [found.id]
    counts = client.get(
        "/requests/counts", query_string={"phone_last": "٤٥٦٧"}, headers=auth["agent"]
    ).json["counts"]
    assert counts["received"] == 1
    for bad in ("٤٥", "٤٥٦٧٨", "45a7", "²³⁴"):
        answer = client.get("/requests", query_string={"phone_last": bad}, headers=auth["agent"])
        assert answer.status_code == 422 and answer.json["details"]["field"] == "phone_last"
    query = {"reference_number": "abc"}
    answer = client.get("/requests", query_string=query, headers=auth["agent"])
    assert answer.status_code == 422 and answer.json["details"]["field"] == "reference_number"


@pytest.mark.parametrize(
    "number",
    [
        "0551234567",
        "+966551234567",
        "00966551234567",
        "٠٥٥١٢٣٤٥٦٧",
        "\u200e+966 55 123 4567\u200f",
    ],
)
def test_a_whole_mobile_finds_the_request_in_a_body(client, auth, requests, number):
    found = requests.file(callback_number="+966551234567")
    requests.file(callback_number="+966551234568")
    answer = client.post("/requests/search", json={"number": number}, headers=auth["agent"])
    assert answer.status_code == 200, answer.json
    assert [item["id"] for item in answer.json["items"]] == [found.id]
    assert answer.json["counts"]["received"] == 1


def test_a_whole_national_id_finds_the_requesters_requests(client, auth, requests):
    national_id = valid_national_id()
    mine = [
        walk_in(client, auth["agent"], national_id=national_id).json["id"],
        walk_in(client, auth["agent"], national_id=national_id.translate(ARABIC)).json["id"],
    ]
    walk_in(client, auth["agent"])
    spaced = f" {national_id[:5]} {national_id[5:]}"
    for typed in (national_id, national_id.translate(PERSIAN), spaced):
        answer = client.post(
            "/requests/search", json={"number": typed, "limit": 10}, headers=auth["agent"]
        )
        assert answer.status_code == 200, answer.json
        assert sorted(item["id"] for item in answer.json["items"]) == sorted(mine)
    # Another branch's agent does not find them: the search is scoped like the list.
    other = client.post(
        "/requests/search", json={"number": national_id}, headers=auth["jeddah_agent"]
    )
    assert other.status_code == 200 and other.json["items"] == []


@pytest.mark.parametrize("number", ["0112345678", "1234567890", "12345", "abc", "٠٥٥١٢٣٤٥٦"])
def test_a_search_number_that_is_neither_is_a_422_naming_it(client, auth, number):
    answer = client.post("/requests/search", json={"number": number}, headers=auth["agent"])
    assert answer.status_code == 422, answer.json
    assert answer.json["details"]["field"] == "number"


HOSTILE = ["²", "¹²", "٥x", "1e3", "0x10", "\x00", "\x0b", "\u200f", "１\x01", "-", "+5", "Ⅴ"]


@pytest.mark.parametrize("value", HOSTILE)
def test_integer_date_and_enum_parameters_refuse_any_text_by_name(client, auth, value):
    cases = [
        ("/requests", "limit", {}),
        ("/requests", "created_from", {}),
        ("/requests", "created_to", {}),
        ("/requests", "sort", {}),
        ("/requests", "channel", {}),
        ("/requests", "status", {}),
        ("/requests/counts", "category", {}),
        ("/metrics/staffing", "target_s", {"calls_per_hour": 1, "aht_s": 1}),
        ("/metrics/staffing", "calls_per_hour", {"aht_s": 1}),
        ("/metrics/requests", "from", {}),
        ("/metrics/calls", "by", {}),
        ("/metrics/calls", "format", {}),
        ("/security/events", "format", {}),
        ("/security/events", "to", {}),
        ("/reports/daily", "day", {}),
    ]
    for path, name, others in cases:
        query = {**others, name: value}
        answer = client.get(path, query_string=query, headers=auth["admin"])
        assert answer.status_code == 422, (path, name, value, answer.status_code)
        assert answer.json["details"]["field"] == name, (path, name, answer.json)


def test_limit_in_arabic_digits_is_a_limit(client, auth, requests):
    for _ in range(3):
        requests.file()
    answer = client.get("/requests", query_string={"limit": "٢"}, headers=auth["agent"])
    assert answer.status_code == 200, answer.json
    assert len(answer.json["items"]) == 2


# -- the centre's day ------------------------------------------------------------------------

# 01:30 in Riyadh on 2 March is 22:30 UTC on 1 March.
LATE_NIGHT = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


def test_a_request_filed_after_midnight_riyadh_is_on_the_centres_day(client, auth, requests):
    night = requests.file(created_at=LATE_NIGHT)
    day_before = requests.file(created_at=datetime(2026, 3, 1, 20, 59, tzinfo=UTC))  # 23:59
    day_after = requests.file(created_at=datetime(2026, 3, 2, 21, 0, tzinfo=UTC))  # 3 Mar 00:00

    def ids(path, **query):
        answer = client.get(path, query_string=query, headers=auth["agent"])
        assert answer.status_code == 200, answer.json
        return answer.json

    listed = ids("/requests", created_from="2026-03-02", created_to="2026-03-02")
    assert [item["id"] for item in listed["items"]] == [night.id]
    assert (
        ids("/requests/counts", created_from="2026-03-02", created_to="2026-03-02")["counts"][
            "received"
        ]
        == 1
    )
    first = ids("/requests", created_to="2026-03-01")["items"]
    assert [item["id"] for item in first] == [day_before.id]
    third = ids("/requests", created_from="2026-03-03")["items"]
    assert [item["id"] for item in third] == [day_after.id]
    # The day it is listed under is the day its own created_at says in the centre's time.
    shown = client.get(f"/requests/{night.id}", headers=auth["agent"]).json["created_at"]
    assert (shown["gregorian"], shown["time"]) == ("2026-03-02", "01:30")
    assert shown["hijri"]["date"] == "1447-09-13"
    searched = client.post(
        "/requests/search",
        json={"created_from": "2026-03-02", "created_to": "2026-03-02"},
        headers=auth["agent"],
    ).json
    assert [item["id"] for item in searched["items"]] == [night.id]


def test_the_request_metrics_agree_with_the_list_on_the_day(client, auth, requests):
    requests.file(created_at=LATE_NIGHT)
    figures = client.get(
        "/metrics/requests",
        query_string={"from": "2026-03-02", "to": "2026-03-02"},
        headers=auth["supervisor"],
    ).json["items"]
    listed = client.get(
        "/requests/counts",
        query_string={"created_from": "2026-03-02", "created_to": "2026-03-02"},
        headers=auth["supervisor"],
    ).json["counts"]
    assert sum(listed.values()) == 1
    assert sum(figures[0]["by_channel"].values()) == 1


class TestAnotherCentresZone:
    """The ``timezone`` setting decides the day, not a UTC+3 written into the code."""

    @pytest.fixture
    def api_settings(self, settings):
        return dataclasses.replace(settings, timezone="Asia/Dubai")

    def test_lists_counts_figures_and_dates_shown_use_the_setting(self, client, auth, requests):
        # 00:30 on 2 March in Dubai; still 1 March (23:30) in Riyadh.
        filed = requests.file(created_at=datetime(2026, 3, 1, 20, 30, tzinfo=UTC))
        query = {"created_from": "2026-03-02", "created_to": "2026-03-02"}
        listed = client.get("/requests", query_string=query, headers=auth["supervisor"]).json
        assert [item["id"] for item in listed["items"]] == [filed.id]
        counts = client.get("/requests/counts", query_string=query, headers=auth["supervisor"])
        assert counts.json["counts"]["received"] == 1
        shown = listed["items"][0]["created_at"]
        assert shown["gregorian"] == "2026-03-02" and shown["time"] == "00:30"
        figures = client.get(
            "/metrics/requests", query_string={"from": "2026-03-02"}, headers=auth["supervisor"]
        ).json["items"]
        assert sum(figures[0]["by_channel"].values()) == 1

    def test_the_appointment_in_the_sms_is_on_the_centres_clock(self, app):
        from agent_api.services import EXTENSION

        book = app.extensions[EXTENSION].book
        assert book.local_text(datetime(2026, 3, 1, 20, 30, tzinfo=UTC)) == "2026-03-02 00:30"


def test_the_command_line_lists_in_the_centres_time_and_takes_any_digits(
    database, monkeypatch, secret_key, tmp_path, requests, capsys
):
    from tawasul_cli.main import main

    monkeypatch.setenv("TAWASUL_DATABASE_URL", database.url)
    monkeypatch.setenv("TAWASUL_SECRET_KEY", secret_key)
    monkeypatch.setenv("TAWASUL_VAR_DIR", str(tmp_path))
    for _ in range(2):
        requests.file(created_at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC))
    night = requests.file(created_at=LATE_NIGHT)
    assert main(["requests", "--limit", "١"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1 and printed[0].startswith(night.reference_number)
    assert "2026-03-02 01:30:00" in printed[0]


def test_a_slot_time_without_an_offset_is_on_the_centres_clock(client, auth):
    from datetime import timedelta

    from tawasul.models import utcnow

    day = (utcnow() + timedelta(days=30)).date()
    opened = client.post(
        "/slots",
        json={"starts_at": f"{day}T00:30", "minutes": 30, "capacity": 1, "mode": "in_person"},
        headers=auth["supervisor"],
    )
    assert opened.status_code == 201, opened.json
    assert opened.json["starts_at"]["utc"] == f"{day - timedelta(days=1)}T21:30:00+00:00"
    assert opened.json["starts_at"]["gregorian"] == day.isoformat()
    # The centre's day, from its midnight to the next: the 00:30 slot is in it.
    query = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    listed = client.get("/slots", query_string=query, headers=auth["supervisor"])
    assert [item["id"] for item in listed.json["items"]] == [opened.json["id"]]
    before = {"from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat()}
    assert client.get("/slots", query_string=before, headers=auth["supervisor"]).json["items"] == []


def test_dates_in_arabic_digits_are_dates(client, auth, requests):
    night = requests.file(created_at=LATE_NIGHT)
    day = "٢٠٢٦-٠٣-٠٢"
    listed = client.get(
        "/requests", query_string={"created_from": day, "created_to": day}, headers=auth["agent"]
    )
    assert listed.status_code == 200, listed.json
    assert [item["id"] for item in listed.json["items"]] == [night.id]


def test_the_demo_prints_the_requests_it_filed_on_the_centres_clock(database, requests):
    from zoneinfo import ZoneInfo

    from tawasul.models import Channel
    from tawasul_cli.demo import filed_requests

    night = requests.file(created_at=LATE_NIGHT, channel=Channel.PORTAL)
    with database.sessions() as session:
        lines, missing = filed_requests(session, ["1700000000.1"], ZoneInfo("Asia/Riyadh"))
    assert missing == 1
    assert "  call 1700000000.1: no request (never reached the IVR)" in lines
    (line,) = [line for line in lines if line.startswith(f"  {night.reference_number}")]
    assert "2026-03-02 01:30:00" in line
