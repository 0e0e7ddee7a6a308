"""Every inbound call is counted by how it ended, the ones the phone menu handled end to end
too, with a machine-readable definition beside each figure (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tawasul.metrics.calls import CallFigures
from tawasul.metrics.inbound import ENDINGS
from tawasul.models import Call, Callback, CallOutcome, QueueCall

ZONE = ZoneInfo("Asia/Riyadh")
DAY = "2026-11-25"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 25, hour, minute, tzinfo=ZONE)


def test_every_inbound_call_is_counted_once_by_how_it_ended(client, auth, requests, database):
    filed = requests.file(created_at=at(9))
    jeddah = requests.file(created_at=at(9), branch="jeddah")
    serial = iter(range(1, 100))

    def call(started: datetime, outcome: CallOutcome, *steps: str, request_id=None) -> Call:
        return Call(
            uniqueid=f"1764050000.{next(serial)}",
            caller_id="+966501234567",
            started_at=started,
            ended_at=started + timedelta(minutes=2),
            outcome=outcome,
            journey=[{"step": step, "t": 1.0} for step in steps],
            request_id=request_id,
        )

    with database.sessions() as session:
        menu_filed = call(at(9), CallOutcome.REQUEST_FILED, "main_menu", request_id=filed.id)
        other_branch = call(at(9, 5), CallOutcome.REQUEST_FILED, request_id=jeddah.id)
        status = call(at(9, 10), CallOutcome.HUNG_UP, "status_told", request_id=filed.id)
        message = call(
            at(9, 20),
            CallOutcome.HUNG_UP,
            "status_told",
            "follow_up_message",
            "voice_message_recorded",
            request_id=filed.id,
        )
        answered = call(at(10), CallOutcome.SENT_TO_AGENT)
        abandoned = call(at(10, 5), CallOutcome.SENT_TO_AGENT)
        callback = call(at(10, 10), CallOutcome.NO_AGENT, "queue_callback_asked")
        no_agent = call(at(10, 15), CallOutcome.NO_AGENT, "queue_refused")
        hung_up = call(at(10, 20), CallOutcome.HUNG_UP, "main_menu")
        failed = call(at(10, 25), CallOutcome.FAILED)
        calls = [
            menu_filed,
            other_branch,
            status,
            message,
            answered,
            abandoned,
            callback,
            no_agent,
            hung_up,
            failed,
        ]
        session.add_all(calls)
        session.flush()
        for made, outcome in ((answered, "answered"), (abandoned, "abandoned")):
            session.add(
                QueueCall(
                    uniqueid=made.uniqueid,
                    queue="tawasul-riyadh",
                    call_id=made.id,
                    joined_at=made.started_at,
                    wait_s=20.0,
                    hold_s=0.0,
                    outcome=outcome,
                )
            )
        session.add(
            Callback(call_id=callback.id, number="+966501234567", branch="riyadh", attempts=0)
        )
        session.commit()

    answer = client.get(f"/metrics/calls?from={DAY}&by=hour", headers=auth["supervisor"])
    assert answer.status_code == 200, answer.json
    inbound = answer.json["inbound"]
    assert inbound["total"] == 9  # Jeddah's call is Jeddah's supervisor's
    assert set(inbound["by_ending"]) == set(ENDINGS)
    assert {name: n for name, n in inbound["by_ending"].items() if n} == {
        "request_filed": 1,
        "status_heard": 1,
        "voice_message": 1,
        "answered_by_agent": 1,
        "abandoned_in_queue": 1,
        "callback": 1,
        "no_agent": 1,
        "hung_up_in_menu": 1,
        "failed": 1,
    }
    nine = [row for row in answer.json["inbound_items"] if row["start"] == at(9).isoformat()]
    assert sorted((row["ending"], row["calls"]) for row in nine) == [
        ("request_filed", 1),
        ("status_heard", 1),
        ("voice_message", 1),
    ]
    admin = client.get(f"/metrics/calls?from={DAY}", headers=auth["admin"]).json["inbound"]
    assert admin["total"] == 10 and admin["by_ending"]["request_filed"] == 2

    defined = answer.json["definitions_by_figure"]
    for figure in (f.name for f in fields(CallFigures)):
        assert {"formula", "unit", "source"} <= set(defined[figure]), figure
    assert defined["service_level"]["threshold_s"] == 60
    assert "answered + abandoned" in defined["service_level"]["formula"]
