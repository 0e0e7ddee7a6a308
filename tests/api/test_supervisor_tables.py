"""What a supervisor watches: the per-agent table, the callbacks waiting, and the threshold
alerts of the live queues (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_api import create_app
from tawasul.models import Call, Callback, CallbackStatus, QueueCall, QueueEvent, Role
from tawasul.presence import MemberStatus, QueueSnapshot
from tests.unit.test_presence import FakeQueues

ZONE = ZoneInfo("Asia/Riyadh")
NOW = datetime(2026, 11, 25, 14, 0, tzinfo=ZONE)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 25, hour, minute, tzinfo=ZONE)


def moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class BusyQueues(FakeQueues):
    """A queue with callers waiting."""

    waiting = 5
    longest_wait_s = 95

    def snapshot(self, queue: str) -> QueueSnapshot:
        found = super().snapshot(queue)
        return QueueSnapshot(queue, self.waiting, self.longest_wait_s, found.members)


@pytest.fixture
def busy(database, api_settings, calls):
    queues = BusyQueues()
    app = create_app(
        api_settings,
        sessions=database.sessions,
        call_control=calls,
        queue_membership=queues,
        test_config={"TESTING": True},
    )
    return app.test_client(), queues


@pytest.fixture
def agent_day(database, auth, monkeypatch):
    """Noura's (the cast's agent's) recorded day, up to 14:00."""
    monkeypatch.setattr("agent_api.queues.utcnow", lambda: NOW)
    member = "PJSIP/1001"
    serial = iter(range(1000))

    def event(name: str, moment: datetime, **data: str) -> QueueEvent:
        return QueueEvent(
            key=f"k{next(serial)}",
            event=name,
            queue="tawasul-riyadh",
            member=member,
            at=moment,
            data=data,
        )

    with database.sessions() as session:
        session.add_all(
            [
                event("QueueMemberAdded", at(8), Paused="0"),
                event("QueueMemberPause", at(10), Paused="1", PausedReason="break"),
                event("QueueMemberPause", at(10, 15), Paused="0"),
                event("QueueMemberPause", at(11), Paused="1", PausedReason="meeting"),
                event("QueueMemberPause", at(11, 30), Paused="0"),
                event("QueueMemberPause", at(12), Paused="1", PausedReason="break"),
                event("QueueMemberPause", at(12, 5), Paused="0"),
                # After-call work 2 s after the 09:00 call's end, for 30 s: part of its handling.
                event(
                    "QueueMemberPause",
                    at(9, 5) + timedelta(seconds=2),
                    Paused="1",
                    PausedReason="after-call-work",
                ),
                event("QueueMemberPause", at(9, 5) + timedelta(seconds=32), Paused="0"),
                QueueEvent(
                    key="other",
                    event="QueueMemberAdded",
                    queue="tawasul-jeddah",
                    member="PJSIP/2001",
                    at=at(9),
                    data={},
                ),
            ]
        )
        caller = Call(uniqueid="1764064680.9", caller_id="+966501234567", started_at=at(13, 57))
        session.add(caller)
        session.flush()
        for answered, talk, call_id in ((at(9), 300, None), (at(9, 30), 420, None)):
            session.add(
                QueueCall(
                    uniqueid=f"u{answered.timestamp()}",
                    queue="tawasul-riyadh",
                    joined_at=answered - timedelta(seconds=20),
                    answered_at=answered,
                    ended_at=answered + timedelta(seconds=talk),
                    wait_s=20.0,
                    talk_s=float(talk),
                    hold_s=0.0,
                    agent=member,
                    outcome="answered",
                    call_id=call_id,
                )
            )
        session.add(
            QueueCall(
                uniqueid=caller.uniqueid,
                queue="tawasul-riyadh",
                call_id=caller.id,
                joined_at=at(13, 57),
                answered_at=at(13, 58),
                wait_s=60.0,
                hold_s=0.0,
                agent=member,
                outcome="answered",
            )
        )
        session.commit()


def test_the_agent_table_from_asterisk_and_the_recorded_day(busy, auth, staff, agent_day):
    client, queues = busy
    staff.headers(staff.add("newcomer", Role.AGENT, extension=None))
    queues.members[("tawasul-riyadh", "PJSIP/1001")] = MemberStatus(
        "PJSIP/1001", "agent", False, "", True, True, at(8)
    )
    assert client.get("/queues/agents", headers=auth["agent"]).status_code == 403
    answer = client.get("/queues/agents", headers=auth["supervisor"])
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["telephony"] is True
    # Staff who take no calls (the supervisor) are not agents; Jeddah's are another branch's.
    assert [row["user"]["name"] for row in body["items"]] == ["agent", "newcomer"]
    row, newcomer = body["items"]
    assert row["user"] == {"id": auth.users["agent"].id, "name": "agent", "role": "agent"}
    assert row["state"] == "on_call"
    assert moment(row["since"]) == at(13, 58)
    assert row["time_in_state_s"] == 120
    assert moment(row["current_call"]["since"]) == at(13, 58)
    assert row["current_call"]["caller_masked"].endswith("567")
    assert "50123" not in row["current_call"]["caller_masked"]
    assert row["calls_today"] == 3
    assert row["aht_s"] == 375.0  # (300 + 30 + 420) / 2; the call still going is not handled
    assert row["pauses_today"] == [
        {"reason": "after-call-work", "count": 1, "seconds": 30.0},
        {"reason": "break", "count": 2, "seconds": 1200.0},
        {"reason": "meeting", "count": 1, "seconds": 1800.0},
    ]
    assert newcomer["state"] == "no_extension" and newcomer["calls_today"] == 0

    # Paused now, as Asterisk says; the recorder saw no such pause, so since is Asterisk's.
    queues.members[("tawasul-riyadh", "PJSIP/1001")] = MemberStatus(
        "PJSIP/1001", "agent", True, "training", False, True, at(13, 50)
    )
    paused = client.get("/queues/agents", headers=auth["supervisor"]).json["items"][0]
    assert (paused["state"], paused["reason"]) == ("paused", "training")
    assert moment(paused["since"]) == at(13, 50)


def test_without_asterisk_the_table_reads_the_recorded_events(client, auth, agent_day):
    row = client.get("/queues/agents", headers=auth["supervisor"]).json["items"][0]
    assert row["state"] == "on_call"  # the recorder has the call answered and not ended
    assert row["calls_today"] == 3


def test_callbacks_waiting_oldest_first_with_age_and_attempts(client, auth, database, monkeypatch):
    monkeypatch.setattr("agent_api.queues.utcnow", lambda: NOW)
    with database.sessions() as session:
        for number, branch, status, queued, attempts in (
            ("+966501111111", "riyadh", CallbackStatus.WAITING, at(13, 50), 0),
            ("+966502222222", "riyadh", CallbackStatus.DIALING, at(13, 40), 2),
            ("+966503333333", "riyadh", CallbackStatus.FAILED, at(13), 3),
            ("+966504444444", "jeddah", CallbackStatus.WAITING, at(13), 0),
        ):
            session.add(
                Callback(
                    number=number,
                    branch=branch,
                    status=status,
                    queued_at=queued,
                    due_at=queued,
                    attempts=attempts,
                    max_attempts=3,
                )
            )
        session.commit()
    answer = client.get("/queues/callbacks", headers=auth["supervisor"])
    assert answer.status_code == 200
    items = answer.json["items"]
    assert [(item["status"], item["age_s"], item["attempts"]) for item in items] == [
        ("dialing", 1200, 2),
        ("waiting", 600, 0),
    ]
    assert items[0]["number_masked"].endswith("222") and "2222222" not in items[0]["number_masked"]
    assert client.get("/queues/callbacks", headers=auth["agent"]).status_code == 403


def test_live_queues_raise_the_threshold_alerts(busy, auth):
    client, queues = busy
    answer = client.get("/queues/live", headers=auth["supervisor"]).json
    (riyadh,) = answer["items"]
    assert riyadh["alerts"] == [
        {"kind": "waiting_callers", "value": 5, "threshold": 3},
        {"kind": "longest_wait", "value": 95, "threshold": 60},
    ]
    assert answer["targets"]["alert_waiting_callers"] == 3
    assert answer["targets"]["alert_longest_wait_s"] == 60
    assert "80" in answer["targets"]["sources"]["alert_waiting_callers"]
    queues.waiting, queues.longest_wait_s = 3, 60
    calm = client.get("/queues/live", headers=auth["supervisor"]).json["items"][0]
    assert calm["alerts"] == []
