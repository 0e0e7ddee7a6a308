"""The one rule of who may act on a request now (``tawasul.permissions.refusal``), without a
database: role, holder, workflow, the appointment's start and a supervisor's override."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tawasul import permissions
from tawasul.errors import AppointmentNotStarted, Forbidden, IllegalTransition
from tawasul.models import Role, User
from tawasul.permissions import (
    CLAIMANT_ONLY,
    RequestAction,
    RequestSituation,
    actions_now,
    allowed_actions,
    needs_override,
    refusal,
)
from tawasul.workflow import RequestStatus

A = RequestAction
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def staff(
    user_id: int, role: Role, branch: str = "riyadh", extension: str | None = "PJSIP/1"
) -> User:
    return User(id=user_id, username=f"u{user_id}", role=role, branch=branch, extension=extension)


AGENT, OTHER = staff(1, Role.AGENT), staff(2, Role.AGENT)
SUPERVISOR, JEDDAH_SUPERVISOR = staff(3, Role.SUPERVISOR), staff(4, Role.SUPERVISOR, "jeddah")
ADMIN = staff(5, Role.ADMIN, "jeddah")

HELD = RequestSituation(
    status=RequestStatus.IN_REVIEW,
    branch="riyadh",
    holder_id=AGENT.id,
    appointment_starts_at=None,
    has_callback_number=True,
    code_sent=True,
    now=NOW,
)


@pytest.mark.parametrize("action", sorted(CLAIMANT_ONLY))
def test_only_the_holder_or_an_overseer_acts_on_a_held_request(action: RequestAction) -> None:
    refused = refusal(OTHER, action, HELD)
    assert isinstance(refused, Forbidden)
    assert (refused.reason, refused.details) == ("claimed_by_other", {"claimed_by": AGENT.id})
    for user in (AGENT, SUPERVISOR, ADMIN):
        assert not isinstance(refusal(user, action, HELD), Forbidden)
    # A supervisor of another branch oversees nothing here (and never sees the request).
    assert isinstance(refusal(JEDDAH_SUPERVISOR, action, HELD), Forbidden)


def test_notes_and_calls_stay_open_to_the_branch() -> None:
    assert refusal(OTHER, A.NOTE, HELD) is None
    assert refusal(OTHER, A.CALL_BACK, HELD) is None
    assert allowed_actions(OTHER, HELD) == [A.NOTE, A.CALL_BACK]


def test_the_holder_is_offered_the_work_of_the_status() -> None:
    assert allowed_actions(AGENT, HELD) == [
        A.RELEASE,
        A.SEND_CODE,
        A.CHECK_CODE,
        A.VERIFY_IN_PERSON,
        A.CANCEL,
        A.EDIT,
        A.NOTE,
        A.CALL_BACK,
    ]
    no_code = replace(HELD, code_sent=False)
    assert A.CHECK_CODE not in allowed_actions(AGENT, no_code)
    assert A.CALL_BACK not in allowed_actions(staff(1, Role.AGENT, extension=None), HELD)


def test_the_workflow_still_decides_the_move() -> None:
    refused = refusal(AGENT, A.COMPLETE, HELD)
    assert isinstance(refused, IllegalTransition)
    assert refused.current == "in_review"


def test_closing_waits_for_the_start_unless_a_supervisor_overrides() -> None:
    scheduled = replace(
        HELD, status=RequestStatus.SCHEDULED, appointment_starts_at=NOW + timedelta(hours=1)
    )
    for action in (A.COMPLETE, A.NO_SHOW):
        refused = refusal(AGENT, action, scheduled, override=True)
        assert isinstance(refused, AppointmentNotStarted) and not refused.may_override
        assert isinstance(refusal(SUPERVISOR, action, scheduled), AppointmentNotStarted)
        assert refusal(SUPERVISOR, action, scheduled, override=True) is None
    assert needs_override(SUPERVISOR, scheduled) == [A.COMPLETE, A.NO_SHOW]
    assert needs_override(AGENT, scheduled) == []
    started = replace(scheduled, now=scheduled.appointment_starts_at or NOW)
    assert refusal(AGENT, A.COMPLETE, started) is None
    assert needs_override(SUPERVISOR, started) == []


def test_the_remembered_answers_are_the_rule_s_in_every_situation() -> None:
    """``actions_now`` (what a list page asks of every row) remembers answers by the facts the
    rule decides by: every combination of user and situation gets the rule's own answer, also
    when another user or request with the same facts was answered first."""
    permissions._DECIDED.clear()
    users = [
        AGENT,
        OTHER,
        staff(6, Role.AGENT, extension=None),
        SUPERVISOR,
        JEDDAH_SUPERVISOR,
        ADMIN,
        staff(7, Role.ADMIN, "riyadh", extension=""),
    ]
    moments = (None, NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    for status, holder, branch, starts_at, number, code in itertools.product(
        RequestStatus,
        (None, 1, 2, 3, 6),
        ("riyadh", "jeddah"),
        moments,
        (True, False),
        (True, False),
    ):
        situation = RequestSituation(
            status=status,
            branch=branch,
            holder_id=holder,
            appointment_starts_at=starts_at,
            has_callback_number=number,
            code_sent=code,
            now=NOW,
        )
        for user in users:
            expected = (
                tuple(allowed_actions(user, situation)),
                tuple(needs_override(user, situation)),
            )
            assert actions_now(user, situation) == expected, (user.id, situation)
    assert 0 < len(permissions._DECIDED) < permissions._DECIDED_MAX
