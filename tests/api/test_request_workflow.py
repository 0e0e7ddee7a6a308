"""The request workflow through the API alone: every step's status, SMS, forwarding and audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tawasul.models import Appointment, AppointmentSlot, OutboxKind, OutboxStatus

SLOT_START = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


def open_slot(client: FlaskClient, headers: dict[str, str], **fields: object) -> int:
    body = {
        "mode": "in_person",
        "starts_at": SLOT_START.isoformat(),
        "minutes": 30,
        "capacity": 2,
        **fields,
    }
    answer = client.post("/slots", json=body, headers=headers)
    assert answer.status_code == 201, answer.json
    return int(answer.json["id"])


def start_has_come(database, request_id: int) -> None:
    """Move the request's slot into the past: its meeting's hour has come (closing before the
    start is refused, ``tests/api/test_request_rules.py``)."""
    past = datetime.now(UTC) - timedelta(minutes=5)
    with database.sessions() as session:
        slot_id = session.scalar(
            select(Appointment.slot_id).where(Appointment.request_id == request_id)
        )
        session.execute(
            update(AppointmentSlot)
            .where(AppointmentSlot.id == slot_id)
            .values(starts_at=past, ends_at=past + timedelta(minutes=30))
        )
        session.commit()


def verify(client: FlaskClient, headers: dict[str, str], requests, request_id: int) -> None:
    started = client.post(f"/requests/{request_id}/verification", headers=headers)
    assert started.status_code == 201, started.json
    code_rows = [
        row
        for row in requests.outbox(request_id, OutboxKind.SMS)
        if row.payload["stage"] == "verification_code"
    ]
    code = code_rows[-1].payload["params"]["code"]
    answer = client.post(
        f"/requests/{request_id}/verification/check", json={"code": code}, headers=headers
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "identity_verified"


def test_an_agent_takes_a_request_from_received_to_completed(client, auth, requests, database):
    request = requests.file()
    rid = request.id
    agent, supervisor = auth["agent"], auth["supervisor"]
    agent_actor = f"user:{auth.users['agent'].id}"
    supervisor_actor = f"user:{auth.users['supervisor'].id}"
    assert requests.sms_stages(rid) == ["received"]
    forwards = len(requests.outbox(rid, OutboxKind.FORWARD))

    claimed = client.post(f"/requests/{rid}/claim", json={"category": "woman"}, headers=agent)
    assert claimed.status_code == 200, claimed.json
    assert claimed.json["status"] == "in_review"
    assert claimed.json["category"] == "woman"
    assert claimed.json["assigned_to"] == auth.users["agent"].id
    assert requests.sms_stages(rid) == ["received", "in_review"]

    verify(client, agent, requests, rid)
    assert requests.sms_stages(rid) == ["received", "in_review", "verification_code"]

    approved = client.post(f"/requests/{rid}/approve", headers=supervisor)
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved"

    slot = open_slot(client, supervisor)
    scheduled = client.post(f"/requests/{rid}/schedule", json={"slot_id": slot}, headers=agent)
    assert scheduled.status_code == 200, scheduled.json
    assert scheduled.json["status"] == "scheduled"
    appointment = scheduled.json["appointment"]
    assert appointment["mode"] == "in_person"
    assert appointment["place"] == "riyadh branch"
    assert appointment["starts_at"]["utc"] == SLOT_START.isoformat()
    assert appointment["starts_at"]["hijri"]["date"].startswith("14")

    sms = requests.outbox(rid, OutboxKind.SMS)
    assert [row.payload["stage"] for row in sms][-2:] == ["approved", "reminder"]
    approved_sms, reminder = sms[-2], sms[-1]
    local = SLOT_START.astimezone(timezone_riyadh())
    assert approved_sms.payload["params"] == {
        "reference": request.reference_number,
        "appointment": local.strftime("%Y-%m-%d %H:%M"),
        # Codes: the SMS names the branch in the requester's language when it is sent.
        "branch": "riyadh",
        "meeting_link": None,
    }
    assert abs(reminder.available_at - (SLOT_START - timedelta(days=1))) < timedelta(seconds=1)

    start_has_come(database, rid)
    completed = client.post(f"/requests/{rid}/complete", headers=agent)
    assert completed.status_code == 200, completed.json
    assert completed.json["status"] == "completed"
    assert completed.json["allowed_transitions"] == []
    assert requests.sms_stages(rid)[-1] == "completed"
    # The reminder of a meeting already held is withdrawn (it was still waiting for its day).
    withdrawn = [row for row in requests.outbox(rid) if row.id == reminder.id][0]
    assert withdrawn.status == OutboxStatus.FAILED

    events = requests.events(rid)
    moves = [(e.kind, e.from_status, e.to_status, e.actor) for e in events if e.to_status]
    assert moves == [
        ("created", None, "received", "ivr"),
        ("claimed", "received", "in_review", agent_actor),
        ("identity_verified", "in_review", "identity_verified", agent_actor),
        ("approved", "identity_verified", "approved", supervisor_actor),
        ("scheduled", "approved", "scheduled", agent_actor),
        ("completed", "scheduled", "completed", agent_actor),
    ]
    assert "verification_started" in [e.kind for e in events]
    # Every transition owes the ministry an update, in the same transaction.
    assert len(requests.outbox(rid, OutboxKind.FORWARD)) == forwards + 5
    # The audit trail carries no personal data: no phone number, no national ID.
    for event in events:
        assert "966" not in str(event.details)

    trail = client.get(f"/requests/{rid}/events", headers=agent)
    assert [item["kind"] for item in trail.json["items"]] == [e.kind for e in events]


def timezone_riyadh():
    from tawasul.appointments import CENTRE_TZ

    return CENTRE_TZ


def test_an_agent_cannot_approve_or_reject(client, auth, requests):
    rid = requests.file().id
    client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    verify(client, auth["agent"], requests, rid)
    for action, body in (("approve", None), ("reject", {"reason": "incomplete"})):
        answer = client.post(f"/requests/{rid}/{action}", json=body, headers=auth["agent"])
        assert answer.status_code == 403, answer.json
        assert answer.json["error"] == "forbidden"
    assert requests.get(rid).status == "identity_verified"


def test_a_supervisor_rejects_with_a_reason_sent_by_sms(client, auth, requests):
    request = requests.file()
    rid = request.id
    client.post(f"/requests/{rid}/claim", json={"category": "company"}, headers=auth["agent"])
    verify(client, auth["agent"], requests, rid)
    missing = client.post(f"/requests/{rid}/reject", json={}, headers=auth["supervisor"])
    assert missing.status_code == 422
    blank = client.post(
        f"/requests/{rid}/reject", json={"reason": "  "}, headers=auth["supervisor"]
    )
    assert blank.status_code == 422
    rejected = client.post(
        f"/requests/{rid}/reject",
        json={"reason": "outside the office's remit"},
        headers=auth["supervisor"],
    )
    assert rejected.status_code == 200, rejected.json
    assert rejected.json["status"] == "rejected"
    last = requests.outbox(rid, OutboxKind.SMS)[-1]
    assert last.payload == {
        "stage": "rejected",
        "params": {"reference": request.reference_number, "reason": "outside the office's remit"},
    }


def test_an_illegal_transition_is_409_with_the_allowed_ones(client, auth, requests):
    rid = requests.file().id
    answer = client.post(f"/requests/{rid}/complete", headers=auth["agent"])
    assert answer.status_code == 409
    assert answer.json["error"] == "illegal-transition"
    assert answer.json["details"] == {
        "current": "received",
        "target": "completed",
        "allowed": ["cancelled", "in_review"],
    }
    approve = client.post(f"/requests/{rid}/approve", headers=auth["supervisor"])
    assert approve.status_code == 409
    assert requests.get(rid).status == "received"
    # A refused transition writes nothing: no event, no SMS, no forwarding beyond intake's.
    assert [e.kind for e in requests.events(rid)] == ["created"]
    assert len(requests.outbox(rid)) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"status": "completed"},
        {"branch": "jeddah"},
        {"reference_number": "1234567890"},
        {"target_official": "Deputy Minister", "status": "approved"},
        {"id": 99},
    ],
)
def test_mass_assignment_is_refused(client, auth, requests, body):
    request = requests.file()
    answer = client.patch(f"/requests/{request.id}", json=body, headers=auth["agent"])
    assert answer.status_code == 422, answer.json
    assert answer.json["error"] == "read-only-field"
    stored = requests.get(request.id)
    assert (stored.status, stored.branch, stored.reference_number) == (
        "received",
        "riyadh",
        request.reference_number,
    )
    assert stored.target_official is None


def test_workflow_actions_refuse_smuggled_fields(client, auth, requests):
    rid = requests.file().id
    answer = client.post(
        f"/requests/{rid}/claim",
        json={"category": "man", "status": "approved"},
        headers=auth["agent"],
    )
    assert answer.status_code == 422
    assert requests.get(rid).status == "received"


def test_editable_details_are_saved_and_audited_by_name(client, auth, requests):
    rid = requests.file().id
    answer = client.patch(
        f"/requests/{rid}",
        json={"target_official": "Governor", "meeting_mode": "video", "language": "en"},
        headers=auth["agent"],
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["target_official"] == "Governor"
    assert answer.json["meeting_mode"] == "video"
    assert answer.json["language"] == "en"
    updated = requests.events(rid)[-1]
    assert updated.kind == "updated"
    assert updated.details == {"fields": ["target_official", "meeting_mode", "language"]}


def test_video_slots_get_a_meeting_link_in_the_sms(client, auth, requests):
    rid = requests.file().id
    client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    verify(client, auth["agent"], requests, rid)
    client.post(f"/requests/{rid}/approve", headers=auth["supervisor"])
    slot = open_slot(client, auth["supervisor"], mode="video")
    answer = client.post(f"/requests/{rid}/schedule", json={"slot_id": slot}, headers=auth["agent"])
    assert answer.status_code == 200, answer.json
    link = answer.json["appointment"]["meeting_link"]
    assert (
        link.startswith("https://meet.test/room/")
        and len(link) > len("https://meet.test/room/") + 16
    )
    assert answer.json["meeting_mode"] == "video"
    assert requests.outbox(rid, OutboxKind.SMS)[-2].payload["params"]["meeting_link"] == link


def schedule_ready(client, auth, requests) -> int:
    rid = requests.file().id
    client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    verify(client, auth["agent"], requests, rid)
    assert client.post(f"/requests/{rid}/approve", headers=auth["supervisor"]).status_code == 200
    return rid


def test_a_slot_is_never_overbooked_and_a_cancellation_frees_the_place(client, auth, requests):
    slot = open_slot(client, auth["supervisor"], capacity=1)
    first, second = schedule_ready(client, auth, requests), schedule_ready(client, auth, requests)
    ok = client.post(f"/requests/{first}/schedule", json={"slot_id": slot}, headers=auth["agent"])
    assert ok.status_code == 200
    full = client.post(
        f"/requests/{second}/schedule", json={"slot_id": slot}, headers=auth["agent"]
    )
    assert full.status_code == 409
    assert full.json["error"] == "conflict"
    assert requests.get(second).status == "approved"

    cancelled = client.post(
        f"/requests/{first}/cancel", json={"reason": "requester travelling"}, headers=auth["agent"]
    )
    assert cancelled.status_code == 200
    assert cancelled.json["status"] == "cancelled"
    reminder = [
        r for r in requests.outbox(first, OutboxKind.SMS) if r.payload["stage"] == "reminder"
    ]
    assert reminder[0].status == OutboxStatus.FAILED
    again = client.post(
        f"/requests/{second}/schedule", json={"slot_id": slot}, headers=auth["agent"]
    )
    assert again.status_code == 200, again.json


def test_a_reschedule_moves_the_booking_and_the_reminder(client, auth, requests):
    rid = schedule_ready(client, auth, requests)
    first = open_slot(client, auth["supervisor"], capacity=1)
    later = open_slot(
        client,
        auth["supervisor"],
        capacity=1,
        starts_at=(SLOT_START + timedelta(days=2)).isoformat(),
    )
    client.post(f"/requests/{rid}/schedule", json={"slot_id": first}, headers=auth["agent"])
    moved = client.post(f"/requests/{rid}/schedule", json={"slot_id": later}, headers=auth["agent"])
    assert moved.status_code == 200, moved.json
    assert moved.json["appointment"]["slot_id"] == later
    assert requests.events(rid)[-1].kind == "rescheduled"
    reminders = [
        r for r in requests.outbox(rid, OutboxKind.SMS) if r.payload["stage"] == "reminder"
    ]
    assert [r.status for r in reminders] == [OutboxStatus.FAILED, OutboxStatus.PENDING]
    slots = client.get(
        "/slots", query_string={"from": SLOT_START.isoformat()}, headers=auth["agent"]
    ).json["items"]
    assert {s["id"]: s["free"] for s in slots} == {first: 1, later: 0}


def test_no_show_closes_a_scheduled_request(client, auth, requests, database):
    rid = schedule_ready(client, auth, requests)
    slot = open_slot(client, auth["supervisor"])
    client.post(f"/requests/{rid}/schedule", json={"slot_id": slot}, headers=auth["agent"])
    start_has_come(database, rid)
    answer = client.post(f"/requests/{rid}/no-show", headers=auth["agent"])
    assert answer.status_code == 200
    assert answer.json["status"] == "no_show"
    assert requests.events(rid)[-1].to_status == "no_show"


def test_release_returns_a_claimed_request_to_the_queue(client, auth, requests):
    rid = requests.file().id
    client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    answer = client.post(f"/requests/{rid}/release", headers=auth["agent"])
    assert answer.status_code == 200
    assert answer.json["status"] == "received"
    assert answer.json["assigned_to"] is None


def test_notes_at_any_time_and_reassignment_by_supervisors(client, auth, requests, staff):
    rid = requests.file().id
    client.post(f"/requests/{rid}/cancel", headers=auth["agent"])
    note = client.post(
        f"/requests/{rid}/notes", json={"text": "called back, all fine"}, headers=auth["agent"]
    )
    assert note.status_code == 201
    listed = client.get(f"/requests/{rid}/notes", headers=auth["agent"]).json["items"]
    assert [item["text"] for item in listed] == ["called back, all fine"]
    assert requests.events(rid)[-1].details == {"note_id": note.json["id"]}

    other = staff.add("agent-two")
    rid2 = requests.file().id
    target = {"user_id": other.id}
    refused = client.post(f"/requests/{rid2}/assignment", json=target, headers=auth["agent"])
    assert refused.status_code == 403
    moved = client.post(f"/requests/{rid2}/assignment", json=target, headers=auth["supervisor"])
    assert moved.status_code == 200, moved.json
    assert moved.json["assigned_to"] == other.id
    wrong_branch = {"user_id": auth.users["jeddah_agent"].id}
    answer = client.post(
        f"/requests/{rid2}/assignment", json=wrong_branch, headers=auth["supervisor"]
    )
    assert answer.status_code == 422
