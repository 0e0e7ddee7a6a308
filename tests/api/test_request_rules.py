"""The rules that must hold on a request: who may act on a claimed one, what the page is offered
(``allowed_actions``, computed by the rule the endpoints enforce), and no closing before the
appointment's start without a supervisor's audited override."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask.testing import FlaskClient

from tests.api.test_request_workflow import open_slot, schedule_ready, start_has_come

HELD = {"release", "send_code", "verify_in_person", "cancel"}


def claimed_by_agent(client: FlaskClient, auth, requests) -> int:
    rid = requests.file().id
    claimed = client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    assert claimed.status_code == 200, claimed.json
    return rid


def test_allowed_actions_follow_the_status_the_role_and_the_holder(client, auth, requests, staff):
    rid = requests.file().id
    fresh = client.get(f"/requests/{rid}", headers=auth["agent"]).json
    assert fresh["allowed_actions"] == ["claim", "cancel", "edit", "note", "call_back"]
    assert fresh["override_actions"] == []

    rid = claimed_by_agent(client, auth, requests)
    mine = client.get(f"/requests/{rid}", headers=auth["agent"]).json["allowed_actions"]
    assert HELD <= set(mine)
    assert "check_code" not in mine  # no code was sent yet
    assert "approve" not in mine and "reassign" not in mine
    other = staff.add("agent-two")
    theirs = client.get(f"/requests/{rid}", headers=staff.headers(other)).json["allowed_actions"]
    assert theirs == ["note", "call_back"]
    supervisor = client.get(f"/requests/{rid}", headers=auth["supervisor"]).json
    assert HELD | {"reassign", "reject"} <= set(supervisor["allowed_actions"])

    client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    after_code = client.get(f"/requests/{rid}", headers=auth["agent"]).json["allowed_actions"]
    assert {"send_code", "check_code", "verify_in_person"} <= set(after_code)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("release", None),
        ("verification", None),
        ("verification/check", {"code": "123456"}),
        ("verify-in-person", {"document": "national_id"}),
        ("cancel", {"reason": "not mine to cancel"}),
        ("schedule", {"slot_id": 1}),
        ("complete", None),
        ("no-show", None),
    ],
)
def test_another_agent_may_not_act_on_a_claimed_request(client, auth, requests, staff, path, body):
    rid = claimed_by_agent(client, auth, requests)
    client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    other = staff.add("agent-two")
    events = len(requests.events(rid))

    answer = client.post(f"/requests/{rid}/{path}", json=body, headers=staff.headers(other))

    assert answer.status_code == 403, answer.json
    assert answer.json["error"] == "forbidden"
    assert answer.json["details"] == {
        "reason": "claimed_by_other",
        "claimed_by": auth.users["agent"].id,
    }
    stored = requests.get(rid)
    assert stored.status == "in_review"
    assert len(requests.events(rid)) == events


def test_a_supervisor_of_the_branch_may_release_and_cancel_a_claimed_request(
    client, auth, requests
):
    rid = claimed_by_agent(client, auth, requests)
    released = client.post(f"/requests/{rid}/release", headers=auth["supervisor"])
    assert released.status_code == 200, released.json
    assert released.json["assigned_to"] is None

    rid = claimed_by_agent(client, auth, requests)
    cancelled = client.post(f"/requests/{rid}/cancel", json={}, headers=auth["admin"])
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["allowed_actions"] == ["note", "call_back"]


def test_an_agent_may_still_note_and_call_a_claimed_request(client, auth, requests, staff):
    rid = claimed_by_agent(client, auth, requests)
    other = staff.add("agent-two")
    note = client.post(
        f"/requests/{rid}/notes", json={"text": "caller rang again"}, headers=staff.headers(other)
    )
    assert note.status_code == 201, note.json


def test_a_role_refusal_names_its_reason(client, auth, requests):
    rid = requests.file().id
    answer = client.post(
        f"/requests/{rid}/assignment",
        json={"user_id": auth.users["agent"].id},
        headers=auth["agent"],
    )
    assert answer.status_code == 403
    assert answer.json["details"] == {"reason": "role", "required_role": "supervisor"}


# -- Complete and No-show before the appointment's start -------------------------------------


def scheduled(client: FlaskClient, auth, requests) -> tuple[int, datetime]:
    rid = schedule_ready(client, auth, requests)
    slot = open_slot(client, auth["supervisor"])
    booked = client.post(f"/requests/{rid}/schedule", json={"slot_id": slot}, headers=auth["agent"])
    assert booked.status_code == 200, booked.json
    return rid, datetime.fromisoformat(booked.json["appointment"]["starts_at"]["utc"])


@pytest.mark.parametrize("path", ["complete", "no-show"])
def test_closing_before_the_start_is_refused(client, auth, requests, path):
    rid, starts_at = scheduled(client, auth, requests)
    offered = client.get(f"/requests/{rid}", headers=auth["agent"]).json["allowed_actions"]
    assert "complete" not in offered and "no_show" not in offered

    for headers in (auth["agent"], auth["supervisor"]):
        answer = client.post(f"/requests/{rid}/{path}", headers=headers)
        assert answer.status_code == 409, answer.json
        assert answer.json["error"] == "appointment_not_started"
        assert datetime.fromisoformat(answer.json["details"]["starts_at"]) == starts_at
    # An agent's override is no override.
    agent_override = client.post(
        f"/requests/{rid}/{path}", json={"override_reason": "came early"}, headers=auth["agent"]
    )
    assert agent_override.status_code == 409
    assert agent_override.json["details"]["may_override"] is False
    assert requests.get(rid).status == "scheduled"


@pytest.mark.parametrize(("path", "status"), [("complete", "completed"), ("no-show", "no_show")])
def test_a_supervisor_overrides_with_a_reason_that_is_audited(client, auth, requests, path, status):
    rid, starts_at = scheduled(client, auth, requests)
    supervisor = client.get(f"/requests/{rid}", headers=auth["supervisor"]).json
    assert {"complete", "no_show"} <= set(supervisor["allowed_actions"])
    assert supervisor["override_actions"] == ["complete", "no_show"]

    blank = client.post(
        f"/requests/{rid}/{path}", json={"override_reason": "  "}, headers=auth["supervisor"]
    )
    assert blank.status_code == 422
    assert blank.json["details"]["field"] == "override_reason"

    done = client.post(
        f"/requests/{rid}/{path}",
        json={"override_reason": "the requester came a day early"},
        headers=auth["supervisor"],
    )
    assert done.status_code == 200, done.json
    assert done.json["status"] == status
    events = requests.events(rid)
    override = [event for event in events if event.kind == "appointment_start_overridden"]
    assert len(override) == 1
    assert override[0].actor == f"user:{auth.users['supervisor'].id}"
    assert override[0].details == {
        "action": path.replace("-", "_"),
        "reason": "the requester came a day early",
        "starts_at": starts_at.isoformat(),
    }
    assert events[-1].to_status == status


def test_after_the_start_the_agent_closes_without_override(client, auth, requests, database):
    rid, _ = scheduled(client, auth, requests)
    start_has_come(database, rid)
    offered = client.get(f"/requests/{rid}", headers=auth["agent"]).json
    assert {"complete", "no_show"} <= set(offered["allowed_actions"])
    assert offered["override_actions"] == []
    done = client.post(f"/requests/{rid}/complete", headers=auth["agent"])
    assert done.status_code == 200, done.json
    assert "appointment_start_overridden" not in [e.kind for e in requests.events(rid)]


# -- identity verified in person; rejection without verification ---------------------------


def test_an_agent_who_saw_the_id_card_verifies_in_person(client, auth, requests, database):
    from tawasul.models import IdentityVerification

    rid = claimed_by_agent(client, auth, requests)
    client.post(f"/requests/{rid}/verification", headers=auth["agent"])  # a code is waiting

    answer = client.post(
        f"/requests/{rid}/verify-in-person", json={"document": "iqama"}, headers=auth["agent"]
    )

    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "identity_verified"
    identity = answer.json["identity"]
    assert identity["method"] == "in_person"
    assert identity["verified_by"] == auth.users["agent"].id
    assert identity["verified_at"] is not None
    event = requests.events(rid)[-1]
    assert (event.kind, event.to_status) == ("identity_verified", "identity_verified")
    assert event.actor == f"user:{auth.users['agent'].id}"
    assert event.details["method"] == "in_person"
    assert event.details["document"] == "iqama"
    with database.sessions() as session:
        checks = session.query(IdentityVerification).filter_by(request_id=rid).all()
        by_provider = {check.provider: check for check in checks}
        assert by_provider["sms"].status == "failed"  # the code no longer works
        seen = by_provider["in_person"]
        assert seen.status == "verified"
        assert seen.started_by == auth.users["agent"].id
        assert seen.verified_at is not None
        assert seen.id == event.details["verification_id"]


@pytest.mark.parametrize("body", [{}, {"document": "driving_licence"}, {"document": 7}])
def test_verify_in_person_names_the_document_field(client, auth, requests, body):
    rid = claimed_by_agent(client, auth, requests)
    answer = client.post(f"/requests/{rid}/verify-in-person", json=body, headers=auth["agent"])
    assert answer.status_code == 422, answer.json
    assert answer.json["details"]["field"] == "document"
    assert requests.get(rid).status == "in_review"


def test_verify_in_person_only_in_review(client, auth, requests):
    rid = requests.file().id
    answer = client.post(
        f"/requests/{rid}/verify-in-person",
        json={"document": "national_id"},
        headers=auth["agent"],
    )
    assert answer.status_code == 409
    assert answer.json["error"] == "illegal-transition"


def test_a_supervisor_rejects_a_request_in_review_without_verification(client, auth, requests):
    rid = claimed_by_agent(client, auth, requests)
    offered = client.get(f"/requests/{rid}", headers=auth["supervisor"]).json["allowed_actions"]
    assert "reject" in offered
    answer = client.post(
        f"/requests/{rid}/reject",
        json={"reason": "the ministry does not handle this matter"},
        headers=auth["supervisor"],
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "rejected"
    assert requests.sms_stages(rid)[-1] == "rejected"
    # Received requests are not rejected unread: claim (review) first.
    fresh = requests.file().id
    refused = client.post(
        f"/requests/{fresh}/reject", json={"reason": "no"}, headers=auth["supervisor"]
    )
    assert refused.status_code == 409
