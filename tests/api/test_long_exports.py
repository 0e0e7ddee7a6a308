"""Exports one fact a row (no split packed in a cell), and requests per hour for a day's chart
(SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tawasul.models import Channel, RequesterCategory

DAY = "2026-11-25"
ZONE = ZoneInfo("Asia/Riyadh")


def at(hour: int) -> datetime:
    return datetime(2026, 11, 25, hour, 0, tzinfo=ZONE)


@pytest.fixture
def day_of_requests(requests) -> None:
    requests.file(created_at=at(9), category=RequesterCategory.WOMAN, channel=Channel.FAX)
    requests.file(created_at=at(9), category=RequesterCategory.MAN, channel=Channel.MANUAL)
    requests.file(created_at=at(10), channel=Channel.MANUAL)
    requests.file(created_at=at(11), branch="jeddah")


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_requests_csv_is_one_fact_a_row(client, auth, day_of_requests):
    query = {"from": DAY, "format": "csv", "layout": "long", "lang": "en"}
    answer = client.get("/metrics/requests", query_string=query, headers=auth["admin"])
    assert answer.status_code == 200, answer.data[:300]
    rows = rows_of(answer.data)
    assert list(rows[0]) == ["day", "figure", "code", "name", "value"]
    for row in rows:
        for cell in row.values():
            assert "; " not in cell and "=" not in cell, row
    facts = {(row["figure"], row["code"]): (row["name"], row["value"]) for row in rows}
    assert facts[("received", "")] == ("", "4")
    assert facts[("by_channel", "fax")] == ("Fax", "1")
    assert facts[("by_channel", "manual")][1] == "2"
    assert facts[("by_branch", "riyadh")] == ("Riyadh", "3")
    assert facts[("by_category", "unknown")] == ("Unclassified", "2")
    assert {row["day"] for row in rows} == {DAY}

    arabic = client.get(
        "/metrics/requests",
        query_string={**query, "lang": "ar", "format": "xlsx"},
        headers=auth["admin"],
    )
    sheet = load_workbook(io.BytesIO(arabic.data)).active
    header = [cell.value for cell in sheet[1]]
    cells = [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(2)]
    assert {"figure": "by_channel", "code": "fax", "name": "فاكس", "value": 1, "day": DAY} in cells
    bad = client.get("/metrics/requests?layout=tall&format=csv", headers=auth["admin"])
    assert bad.status_code == 422 and bad.json["details"]["field"] == "layout"


def test_requests_of_today_by_hour(client, auth, day_of_requests):
    answer = client.get(f"/metrics/requests?from={DAY}&by=hour", headers=auth["supervisor"])
    assert answer.status_code == 200, answer.json
    items = answer.json["items"]
    assert len(items) == 24
    assert datetime.fromisoformat(items[0]["start"]) == at(0)
    by_hour = {datetime.fromisoformat(item["start"]).hour: item for item in items}
    assert by_hour[9]["received"] == 2 and by_hour[9]["by_channel"] == {"fax": 1, "manual": 1}
    assert by_hour[10]["received"] == 1
    assert by_hour[11]["received"] == 0  # Jeddah's is not a Riyadh supervisor's
    assert sum(item["received"] for item in items) == 3
    csv_answer = client.get(
        f"/metrics/requests?from={DAY}&by=hour&format=csv&layout=long", headers=auth["supervisor"]
    )
    rows = rows_of(csv_answer.data)
    assert list(rows[0]) == ["start", "figure", "code", "name", "value"]
    nine = [r for r in rows if datetime.fromisoformat(r["start"]).hour == 9]
    assert sorted((r["figure"], r["code"], r["value"]) for r in nine) == [
        ("by_channel", "fax", "1"),
        ("by_channel", "manual", "1"),
        ("received", "", "2"),
    ]
    too_long = client.get(
        "/metrics/requests?from=2026-01-01&to=2026-03-01&by=hour", headers=auth["supervisor"]
    )
    assert too_long.status_code == 422 and too_long.json["details"]["field"] == "to"


def test_the_calls_csv_is_one_fact_a_row_with_the_inbound_calls(client, auth, database):
    from tawasul.models import Call, CallOutcome, QueueCall

    with database.sessions() as session:
        session.add(
            Call(uniqueid="1.1", started_at=at(9), ended_at=at(9), outcome=CallOutcome.HUNG_UP)
        )
        session.add(
            QueueCall(
                uniqueid="2.2",
                queue="tawasul-riyadh",
                joined_at=at(10),
                answered_at=at(10),
                wait_s=0.0,
                talk_s=60.0,
                hold_s=0.0,
                outcome="answered",
            )
        )
        session.commit()
    answer = client.get(
        f"/metrics/calls?from={DAY}&by=hour&format=csv&layout=long", headers=auth["supervisor"]
    )
    assert answer.status_code == 200, answer.data[:300]
    rows = rows_of(answer.data)
    assert list(rows[0]) == ["start", "figure", "code", "name", "value"]
    facts = {
        (datetime.fromisoformat(r["start"]).hour, r["figure"], r["code"]): r["value"] for r in rows
    }
    assert facts[(9, "inbound", "hung_up_in_menu")] == "1"
    assert facts[(10, "answered", "")] == "1"
    assert facts[(10, "offered", "")] == "1"
    assert (9, "offered", "") not in facts  # no queue visit that hour: no queue figure
