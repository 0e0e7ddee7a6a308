"""The figures over the API: by hand-checked data, per branch, in JSON, CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tawasul.models import (
    Channel,
    QueueCall,
    RequesterCategory,
    RequestEvent,
    SmsMessage,
    SmsStatus,
)
from tawasul.workflow import RequestStatus
from tests.api.conftest import Auth, Requests
from tests.helpers import Database

ZONE = ZoneInfo("Asia/Riyadh")
DAY = "2026-11-25"


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 25, hour, minute, second, tzinfo=ZONE)


def visit(
    queue: str, joined: datetime, outcome: str, wait: float, talk: float | None = None
) -> QueueCall:
    answered = joined + timedelta(seconds=wait) if outcome == "answered" else None
    return QueueCall(
        uniqueid=f"{queue}-{joined.timestamp()}",
        queue=queue,
        joined_at=joined,
        answered_at=answered,
        left_at=joined + timedelta(seconds=wait),
        ended_at=answered + timedelta(seconds=talk) if answered and talk is not None else None,
        wait_s=wait,
        talk_s=talk,
        hold_s=0.0,
        agent="Local/3001@x" if answered else None,
        outcome=outcome,
    )


@pytest.fixture
def queue_day(database: Database) -> None:
    with database.sessions() as session:
        session.add_all(
            [
                visit("tawasul-riyadh", at(9, 0), "answered", 20, 300),
                visit("tawasul-riyadh", at(9, 10), "answered", 90, 420),  # over 60 s
                visit("tawasul-riyadh", at(9, 20), "abandoned", 30),
                visit("tawasul-riyadh", at(9, 30), "abandoned", 3),  # short abandon
                visit("tawasul-riyadh", at(10, 5), "answered", 10, 360),
                visit("tawasul-jeddah", at(9, 0), "abandoned", 100),  # another branch
            ]
        )
        session.commit()


def test_call_figures_by_hour(client: FlaskClient, auth: Auth, queue_day: None) -> None:
    answer = client.get(f"/metrics/calls?from={DAY}&by=hour", headers=auth["supervisor"])
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["queues"] == ["tawasul-riyadh"]  # a Riyadh supervisor sees Riyadh only
    nine, ten = body["items"]
    assert nine["start"] == at(9).isoformat() and ten["start"] == at(10).isoformat()
    assert (nine["offered"], nine["answered"], nine["abandoned"], nine["short_abandoned"]) == (
        4,
        2,
        1,
        1,
    )
    assert nine["service_level"] == pytest.approx(33.3)  # 1 within 60 s / (2 + 1)
    assert nine["asa_s"] == 55.0  # (20 + 90) / 2
    assert nine["aht_s"] == 360.0  # (300 + 420) / 2
    assert nine["calls_per_hour"] == 4.0
    total = body["total"]
    assert (total["offered"], total["answered"], total["abandoned"]) == (5, 3, 1)
    assert total["service_level"] == 50.0  # 2 / (3 + 1)
    assert total["abandonment_rate"] == 25.0
    assert total["longest_wait_s"] == 90.0
    assert body["callbacks"] == {"owed": 0, "placed": 0, "connected": 0, "failed": 0, "waiting": 0}
    assert body["agents"] == [
        {
            "member": "Local/3001@x",
            "logged_in_s": 0.0,
            "available_s": 0.0,
            "busy_s": 1080.0,
            "occupancy": None,
        }
    ]


def test_call_figures_export_as_csv_and_xlsx(
    client: FlaskClient, auth: Auth, queue_day: None
) -> None:
    answer = client.get(
        f"/metrics/calls?from={DAY}&by=day&format=csv&layout=wide", headers=auth["admin"]
    )
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0]["offered"] == "6" and rows[0]["abandoned"] == "2"
    answer = client.get(
        f"/metrics/calls?from={DAY}&by=day&format=xlsx&layout=wide", headers=auth["admin"]
    )
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.data)).active
    header = [cell.value for cell in sheet[1]]
    values = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert values["offered"] == 6 and values["answered"] == 3


def test_request_figures_of_a_day(
    client: FlaskClient, auth: Auth, requests: Requests, database: Database
) -> None:
    early = requests.file(created_at=at(9), category=RequesterCategory.MAN, forwarded_at=at(9, 5))
    requests.file(
        created_at=at(11),
        category=RequesterCategory.WOMAN,
        channel=Channel.FAX,
        forwarded_at=at(21),
    )  # forwarded after the 20:00 cut-off
    requests.file(created_at=at(12), category=RequesterCategory.COMPANY)  # never forwarded
    requests.file(created_at=at(12), branch="jeddah")  # another branch
    with database.sessions() as session:
        session.add(
            RequestEvent(
                request_id=early.id,
                at=at(13),
                actor="user:1",
                kind="transition",
                to_status=RequestStatus.APPROVED,
            )
        )
        sms = session.query(SmsMessage).count()
        assert sms == 0
        session.add(
            SmsMessage(
                outbox_id=1,
                request_id=early.id,
                to_number="+966501234567",
                template="received",
                language="ar",
                body="x",
                provider="local",
                status=SmsStatus.DELIVERED,
                sent_at=at(9, 1),
            )
        )
        session.commit()
    answer = client.get(f"/metrics/requests?from={DAY}", headers=auth["supervisor"])
    assert answer.status_code == 200, answer.json
    (day,) = answer.json["items"]
    assert day["received"] == 3
    assert day["by_category"] == {"man": 1, "woman": 1, "company": 1}
    assert day["by_channel"] == {"phone": 2, "fax": 1}
    assert day["decided"] == 1 and day["decision_hours_median"] == 4.0
    assert day["same_day_forwarding_rate"] == pytest.approx(33.3)
    assert day["sms_sent"] == 1


def test_figures_are_for_supervisors_and_their_branches(client: FlaskClient, auth: Auth) -> None:
    assert client.get("/metrics/calls", headers=auth["agent"]).status_code == 403
    assert client.get("/metrics/requests", headers=auth["agent"]).status_code == 403
    outside = client.get("/metrics/calls?branch=riyadh", headers=auth["jeddah_supervisor"])
    assert outside.status_code == 404
    assert client.get("/metrics/calls?by=year", headers=auth["admin"]).status_code == 422
    assert client.get("/metrics/calls?format=pdf", headers=auth["admin"]).status_code == 422
    assert client.get("/reports/daily", headers=auth["supervisor"]).status_code == 403


def test_staffing_is_erlang_c(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(
        "/metrics/staffing?calls_per_hour=200&aht_s=180&target_s=20&target_level=80",
        headers=auth["supervisor"],
    )
    assert answer.status_code == 200
    assert answer.json["agents"] == 14
    assert answer.json["service_level"] == pytest.approx(0.888, abs=0.001)
    missing = client.get("/metrics/staffing?aht_s=180", headers=auth["supervisor"])
    assert missing.status_code == 422


def test_daily_report_has_the_headline_figures(
    client: FlaskClient, auth: Auth, queue_day: None
) -> None:
    answer = client.get(f"/reports/daily?day={DAY}&lang=en", headers=auth["admin"])
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert "daily report, 2026-11-25" in page
    assert "<th>Calls offered / answered</th><td>6 / 3</td>" in page
    assert "Forwarded the same day" in page
