"""What a person reads in an export and in the daily report: branch, category, channel and
status under their configured display names, in ``lang`` (else the browser's language, else
Arabic), the codes still in their own columns (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tawasul.models import Channel, Report, RequesterCategory
from tests.api.conftest import Auth, Requests
from tests.api.test_exports import stored
from tests.helpers import Database

DAY = "2026-11-25"


def at(hour: int) -> datetime:
    return datetime(2026, 11, 25, hour, 0, tzinfo=ZoneInfo("Asia/Riyadh"))


@pytest.fixture
def day_of_requests(requests: Requests) -> None:
    requests.file(created_at=at(9), category=RequesterCategory.WOMAN, channel=Channel.FAX)
    requests.file(created_at=at(10), category=RequesterCategory.MAN)
    requests.file(created_at=at(11), branch="jeddah")


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_request_figures_csv_names_what_it_counts_beside_the_codes(
    client: FlaskClient, auth: Auth, day_of_requests: None
) -> None:
    def export(**query: str) -> tuple[list[str], dict[str, str]]:
        answer = client.get(
            "/metrics/requests",
            query_string={"from": DAY, "format": "csv", "layout": "wide", **query},
            headers=auth["admin"],
        )
        assert answer.status_code == 200, answer.data[:300]
        header = next(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
        (row,) = csv_rows(answer.data)
        return header, row

    header, arabic = export()  # no lang, no Accept-Language: Arabic
    assert header.index("by_branch_names") == header.index("by_branch") + 1
    assert arabic["by_branch"] == "jeddah=1; riyadh=2"  # the codes, for integrations
    assert arabic["by_branch_names"] == "الرياض=2; جدة=1"
    assert arabic["by_category_names"] == "غير مصنف=1; مواطن=1; مواطنة=1"
    assert arabic["by_channel_names"] == "فاكس=1; هاتف=2"
    assert arabic["by_status_names"] == "وارد=3"
    assert arabic["by_category"] == "man=1; unknown=1; woman=1"

    _, english = export(lang="en")
    assert english["by_branch_names"] == "Jeddah=1; Riyadh=2"
    assert english["by_category_names"] == "Man=1; Unclassified=1; Woman=1"
    assert english["by_status_names"] == "Received=3"
    assert english["by_branch"] == arabic["by_branch"]

    # Without lang, the browser's language.
    answer = client.get(
        f"/metrics/requests?from={DAY}&format=csv&layout=wide",
        headers={**auth["admin"], "Accept-Language": "en-GB,en;q=0.8"},
    )
    assert csv_rows(answer.data)[0]["by_branch_names"] == "Jeddah=1; Riyadh=2"

    refused = client.get(f"/metrics/requests?from={DAY}&format=csv&lang=fr", headers=auth["admin"])
    assert refused.status_code == 422 and "lang" in refused.get_data(as_text=True)

    # JSON is for machines: codes only.
    (day,) = client.get(f"/metrics/requests?from={DAY}", headers=auth["admin"]).json["items"]
    assert day["by_branch"] == {"riyadh": 2, "jeddah": 1} and "by_branch_names" not in day


def test_request_figures_xlsx_names_what_it_counts(
    client: FlaskClient, auth: Auth, day_of_requests: None
) -> None:
    answer = client.get(
        f"/metrics/requests?from={DAY}&format=xlsx&layout=wide", headers=auth["admin"]
    )
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.data)).active
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert row["by_branch_names"] == "الرياض=2; جدة=1"
    assert row["by_branch"] == "jeddah=1; riyadh=2"


def test_security_events_export_names_each_kind(client: FlaskClient, auth: Auth) -> None:
    assert client.post("/auth/login", json={"username": "x", "password": "y"}).status_code == 401
    stored()
    for lang, name in (("ar", "محاولة دخول فاشلة"), ("en", "Failed sign-in")):
        answer = client.get(f"/security/events?format=csv&lang={lang}", headers=auth["admin"])
        rows = csv_rows(answer.data)
        assert [(row["kind"], row["kind_name"]) for row in rows] == [("login_failed", name)]
    answer = client.get("/security/events", headers=auth["admin"])
    assert "kind_name" not in answer.json["items"][0]


def test_the_daily_report_reads_in_arabic_with_display_names_and_in_english_on_request(
    client: FlaskClient, auth: Auth, day_of_requests: None, database: Database
) -> None:
    answer = client.get(f"/reports/daily?day={DAY}", headers=auth["admin"])
    assert answer.status_code == 200
    arabic = answer.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "<h2>الطلبات حسب الفرع</h2>" in arabic
    for name, count in (("الرياض", 2), ("جدة", 1), ("مواطنة", 1), ("غير مصنف", 1), ("فاكس", 1)):
        assert f"<th>{name}</th><td>{count}</td>" in arabic
    assert "<th>وارد</th><td>3</td>" in arabic
    for code in ("riyadh", "woman", "unknown", "fax", "received", "Men", "Unclassified"):
        assert f"<th>{code}</th>" not in arabic

    english = client.get(f"/reports/daily?day={DAY}&lang=en", headers=auth["admin"])
    page = english.get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in page
    for name in ("Riyadh", "Jeddah", "Woman", "Unclassified", "Fax", "Received"):
        assert f"<th>{name}</th>" in page

    # A report stored before it had a page per language is made again, not shown half.
    with database.sessions() as session:
        report = session.query(Report).filter_by(kind="daily", day=DAY).one()
        report.content = {"html": "<p>riyadh</p>"}
        session.commit()
    again = client.get(f"/reports/daily?day={DAY}&lang=en", headers=auth["admin"])
    assert "<th>Riyadh</th>" in again.get_data(as_text=True)
