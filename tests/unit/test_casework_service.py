"""The agents' use cases (``tawasul.casework.Casework``) on a real SQLite database, no Flask.

Every (status, target) pair goes through the use case that moves a request into the target: an
allowed move changes the status and writes its audit row and its forwarding; a refused one raises
``IllegalTransition`` and changes nothing, even when the caller commits afterwards.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tawasul.casework import RequestChanges
from tawasul.errors import (
    Forbidden,
    IllegalTransition,
    NotFound,
    TooManyAttempts,
    ValidationError,
    VerificationFailed,
)
from tawasul.models import (
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    IdentityVerification,
    Language,
    MeetingMode,
    OutboxKind,
    Request,
    RequestAssignment,
    RequesterCategory,
    User,
    VerificationStatus,
)
from tawasul.workflow import RequestStatus
from tests.unit.casework_support import CODE, NOW, World, migrated_sqlite
from tests.unit.test_workflow import EXPECTED

S = RequestStatus
REASON = "outside the centre's remit"


@pytest.fixture
def world(tmp_path: Path) -> World:
    """Staff and services on a fresh migrated SQLite database."""
    return World.build(migrated_sqlite(tmp_path))


def prepare(world: World, status: RequestStatus) -> dict[str, Any]:
    """A request standing in ``status`` with what that status implies.

    In review: claimed by the agent, with an identity check started. Scheduled: an appointment
    booked in a slot of its own whose start has come. Returns the request id and, for the
    scheduled ones, the slot.
    """
    request_id = world.request(status)
    context: dict[str, Any] = {"request_id": request_id, "slot_id": None}
    with world.sessions() as session:
        if status == S.IN_REVIEW:
            session.add(
                RequestAssignment(
                    request_id=request_id,
                    user_id=world.agent.id,
                    assigned_by=world.agent.id,
                    assigned_at=NOW,
                )
            )
            session.commit()
            world.casework.start_verification(session, world.agent, request_id)
        if status == S.SCHEDULED:
            context["slot_id"] = world.slot(capacity=2)
            request = session.get(Request, request_id)
            assert request is not None
            world.book.book(session, request, context["slot_id"], world.agent.id)
            # The meeting's hour has come: closing before the start is refused.
            session.execute(
                update(AppointmentSlot)
                .where(AppointmentSlot.id == context["slot_id"])
                .values(starts_at=NOW - timedelta(hours=1), ends_at=NOW - timedelta(minutes=30))
            )
            session.commit()
    return context


def act(world: World, session: Session, user: User, target: RequestStatus, request_id: int) -> Any:
    """Call the use case that moves a request into ``target``."""
    casework = world.casework
    moves: dict[RequestStatus, Callable[[], Any]] = {
        S.RECEIVED: lambda: casework.release(session, user, request_id),
        S.IN_REVIEW: lambda: casework.claim(session, user, request_id, RequesterCategory.WOMAN),
        S.IDENTITY_VERIFIED: lambda: casework.verify_identity(session, user, request_id, CODE),
        S.APPROVED: lambda: casework.approve(session, user, request_id),
        S.REJECTED: lambda: casework.reject(session, user, request_id, REASON),
        S.SCHEDULED: lambda: casework.schedule(session, user, request_id, world.slot()),
        S.COMPLETED: lambda: casework.complete(session, user, request_id),
        S.NO_SHOW: lambda: casework.no_show(session, user, request_id),
        S.CANCELLED: lambda: casework.cancel(session, user, request_id),
    }
    return moves[target]()


PAIRS = list(itertools.product(RequestStatus, RequestStatus))
ALLOWED = [(a, b) for a, b in PAIRS if b.value in EXPECTED[a.value]]
REFUSED = [(a, b) for a, b in PAIRS if b.value not in EXPECTED[a.value]]


def pair_id(status: RequestStatus) -> str:
    return status.value


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=pair_id)
def test_an_allowed_transition_moves_the_request_and_audits_it(
    world: World, current: RequestStatus, target: RequestStatus
) -> None:
    context = prepare(world, current)
    request_id = context["request_id"]
    events_before = len(world.events(request_id))
    outbox_before = len(world.outbox(request_id))

    with world.sessions() as session:
        result = act(world, session, world.supervisor, target, request_id)

    stored = world.stored(request_id)
    assert stored.status == target
    if target != S.IN_REVIEW:
        assert stored.updated_at == NOW
    else:
        # The classification is written after the move, in a flush of its own that stamps
        # updated_at with the wall clock (the column's onupdate), not the service's clock.
        assert stored.updated_at > NOW - timedelta(hours=12)
    events = world.events(request_id)
    assert len(events) == events_before + 1
    event = events[-1]
    assert (event.from_status, event.to_status) == (current, target)
    assert event.actor == f"user:{world.supervisor.id}"
    assert event.at == NOW
    new_outbox = world.outbox(request_id)[outbox_before:]
    # Every change of status is owed to the ministry's system (same-day forwarding).
    assert [row.kind for row in new_outbox].count(OutboxKind.FORWARD) == 1
    sms = [row.payload["stage"] for row in new_outbox if row.kind == OutboxKind.SMS]

    with world.sessions() as session:
        assignment = session.get(RequestAssignment, request_id)
        appointments = list(
            session.scalars(
                select(Appointment).where(Appointment.request_id == request_id).order_by("id")
            )
        )
    if target == S.IN_REVIEW:
        assert event.kind == "claimed"
        assert event.details == {"category": "woman"}
        assert stored.category == RequesterCategory.WOMAN
        assert assignment is not None and assignment.user_id == world.supervisor.id
        assert sms == ["in_review"]
    elif target == S.RECEIVED:
        assert (event.kind, event.details) == ("released", {})
        assert assignment is None
        assert sms == []
    elif target == S.IDENTITY_VERIFIED:
        with world.sessions() as session:
            verification = session.scalars(select(IdentityVerification)).one()
        assert verification.status == VerificationStatus.VERIFIED
        assert event.kind == "identity_verified"
        assert event.details == {
            "provider": "sms",
            "verification_id": verification.id,
            "outcome": "verified",
        }
        assert sms == []
    elif target == S.APPROVED:
        assert (event.kind, event.details) == ("approved", {})
        assert sms == []  # the approval SMS names the appointment: sent when it is booked
    elif target == S.REJECTED:
        assert (event.kind, event.details) == ("rejected", {"reason": REASON})
        assert sms == ["rejected"]
    elif target == S.SCHEDULED:
        assert isinstance(result, Appointment)
        assert event.kind == ("rescheduled" if current == S.SCHEDULED else "scheduled")
        assert event.details == {"appointment_id": result.id, "slot_id": result.slot_id}
        assert appointments[-1].id == result.id
        assert appointments[-1].status == AppointmentStatus.BOOKED
        assert world.booked(result.slot_id) == 1
        assert sms == ["approved", "reminder"]
        if current == S.SCHEDULED:
            # The old booking gave its place back.
            assert appointments[0].status == AppointmentStatus.RESCHEDULED
            assert world.booked(context["slot_id"]) == 0
    elif target == S.COMPLETED:
        assert (event.kind, event.details) == ("completed", {})
        assert [a.status for a in appointments] == [AppointmentStatus.ATTENDED]
        assert world.booked(context["slot_id"]) == 1  # a held meeting keeps its place
        assert sms == ["completed"]
    elif target == S.NO_SHOW:
        assert (event.kind, event.details) == ("no_show", {})
        assert [a.status for a in appointments] == [AppointmentStatus.MISSED]
        assert world.booked(context["slot_id"]) == 1
        assert sms == []
    elif target == S.CANCELLED:
        assert (event.kind, event.details) == ("cancelled", {})
        if current == S.SCHEDULED:
            assert [a.status for a in appointments] == [AppointmentStatus.CANCELLED]
            assert world.booked(context["slot_id"]) == 0
        assert sms == []
    else:  # pragma: no cover (every status is a target above)
        pytest.fail(f"no expectations for {target}")


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=pair_id)
def test_a_refused_transition_raises_and_changes_nothing(
    world: World, current: RequestStatus, target: RequestStatus
) -> None:
    request_id = prepare(world, current)["request_id"]
    # The snapshot covers every slot: the test's own (for a refused schedule) stays empty too.
    error = world.refused(
        request_id,
        IllegalTransition,
        lambda session: act(world, session, world.supervisor, target, request_id),
    )
    assert (error.current, error.target) == (current.value, target.value)
    assert error.allowed == sorted(EXPECTED[current.value])


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.IDENTITY_VERIFIED, S.APPROVED), (S.IDENTITY_VERIFIED, S.REJECTED)],
    ids=pair_id,
)
def test_an_agent_may_not_decide(world: World, current: RequestStatus, target: RequestStatus):
    request_id = prepare(world, current)["request_id"]
    world.refused(
        request_id, Forbidden, lambda session: act(world, session, world.agent, target, request_id)
    )


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.RECEIVED, S.IN_REVIEW), (S.IN_REVIEW, S.RECEIVED), (S.APPROVED, S.SCHEDULED)],
    ids=pair_id,
)
def test_an_agent_works_requests(world: World, current: RequestStatus, target: RequestStatus):
    request_id = prepare(world, current)["request_id"]
    with world.sessions() as session:
        act(world, session, world.agent, target, request_id)
    assert world.stored(request_id).status == target
    assert world.events(request_id)[-1].actor == f"user:{world.agent.id}"


def test_a_request_of_another_branch_is_not_found(world: World) -> None:
    request_id = world.request(S.RECEIVED)
    stranger = world.jeddah_agent
    world.refused(
        request_id, NotFound, lambda session: act(world, session, stranger, S.IN_REVIEW, request_id)
    )
    world.refused(
        request_id, NotFound, lambda session: world.casework.events(session, stranger, request_id)
    )
    # Admins see every branch.
    with world.sessions() as session:
        world.casework.claim(session, world.admin, request_id, RequesterCategory.MAN)
    assert world.stored(request_id).status == S.IN_REVIEW


def test_of_two_agents_claiming_at_once_the_second_is_refused(world: World) -> None:
    request_id = world.request(S.RECEIVED)
    with world.sessions() as first, world.sessions() as second:
        # The first agent read the request as received ...
        stale = first.get(Request, request_id)
        assert stale is not None and stale.status == S.RECEIVED
        first.commit()
        # ... the second claimed it in the meantime ...
        world.casework.claim(second, world.other_agent, request_id, RequesterCategory.MAN)
        # ... so the first agent's claim, on the status it read, finds it gone.
        with pytest.raises(IllegalTransition) as err:
            world.casework.claim(first, world.agent, request_id, RequesterCategory.COMPANY)
        first.commit()
    assert err.value.current == "in_review"
    assert world.stored(request_id).category == RequesterCategory.MAN
    claims = [event for event in world.events(request_id) if event.kind == "claimed"]
    assert [event.actor for event in claims] == [f"user:{world.other_agent.id}"]
    with world.sessions() as session:
        assignment = session.get(RequestAssignment, request_id)
        assert assignment is not None and assignment.user_id == world.other_agent.id


# -- identity verification -----------------------------------------------------------------


def test_a_wrong_code_is_audited_and_counts_down_to_a_lockout(world: World) -> None:
    request_id = prepare(world, S.IN_REVIEW)["request_id"]
    started = world.events(request_id)[-1]
    assert started.kind == "verification_started"
    assert started.details["provider"] == "sms"
    for left in (2, 1):
        with world.sessions() as session:
            with pytest.raises(VerificationFailed) as err:
                world.casework.verify_identity(session, world.agent, request_id, "000000")
        assert (err.value.reason, err.value.attempts_left) == ("wrong", left)
    with world.sessions() as session:
        with pytest.raises(TooManyAttempts):
            world.casework.verify_identity(session, world.agent, request_id, "000000")
    # The right code no longer helps: the check is used up.
    with world.sessions() as session:
        with pytest.raises(TooManyAttempts):
            world.casework.verify_identity(session, world.agent, request_id, CODE)
    assert world.stored(request_id).status == S.IN_REVIEW
    failures = [e for e in world.events(request_id) if e.kind == "verification_failed"]
    assert [e.details["outcome"] for e in failures] == ["wrong", "wrong", "exhausted", "exhausted"]
    assert all(e.from_status is None and e.to_status is None for e in failures)

    # A new check replaces the used-up one, and its code works.
    with world.sessions() as session:
        world.casework.start_verification(session, world.agent, request_id)
        world.casework.verify_identity(session, world.agent, request_id, CODE)
    assert world.stored(request_id).status == S.IDENTITY_VERIFIED


def test_a_new_check_makes_the_pending_one_fail(world: World) -> None:
    request_id = prepare(world, S.IN_REVIEW)["request_id"]
    with world.sessions() as session:
        world.casework.start_verification(session, world.agent, request_id)
        rows = session.scalars(select(IdentityVerification).order_by(IdentityVerification.id))
        assert [row.status for row in rows] == [
            VerificationStatus.FAILED,
            VerificationStatus.PENDING,
        ]


def test_verifying_without_a_started_check_is_refused(world: World) -> None:
    request_id = world.request(S.IN_REVIEW)
    error = world.refused(
        request_id,
        VerificationFailed,
        lambda session: world.casework.verify_identity(session, world.agent, request_id, CODE),
    )
    assert error.reason == "no verification was started"


def test_a_check_needs_a_number_to_text_the_code_to(world: World) -> None:
    request_id = world.request(S.IN_REVIEW, callback_number=None)
    error = world.refused(
        request_id,
        ValidationError,
        lambda session: world.casework.start_verification(session, world.agent, request_id),
    )
    assert error.field == "callback_number"


@pytest.mark.parametrize("status", [S.RECEIVED, S.IDENTITY_VERIFIED, S.CANCELLED], ids=pair_id)
def test_a_check_is_started_only_in_review(world: World, status: RequestStatus) -> None:
    request_id = world.request(status)
    world.refused(
        request_id,
        IllegalTransition,
        lambda session: world.casework.start_verification(session, world.agent, request_id),
    )


# -- decisions with a reason ----------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_rejection_needs_a_reason_of_at_most_500_characters(world: World, reason: str):
    request_id = world.request(S.IDENTITY_VERIFIED)
    error = world.refused(
        request_id,
        ValidationError,
        lambda session: world.casework.reject(session, world.supervisor, request_id, reason),
    )
    assert error.field == "reason"


def test_a_cancellation_keeps_its_reason_masked(world: World) -> None:
    request_id = world.request(S.RECEIVED)
    with world.sessions() as session:
        world.casework.cancel(session, world.agent, request_id, "  caller 0501234567 withdrew  ")
    event = world.events(request_id)[-1]
    assert event.kind == "cancelled"
    # Free text is trimmed and any phone number or national ID in it masked before it is stored.
    assert event.details == {"reason": "caller 05*****567 withdrew"}
    with world.sessions() as session:
        with pytest.raises(ValidationError):
            world.casework.cancel(session, world.agent, world.request(), "x" * 501)


# -- editing, notes, reassignment ------------------------------------------------------------


def test_an_edit_is_audited_by_field_name_only(world: World) -> None:
    request_id = world.request(S.IN_REVIEW)
    changes = RequestChanges(
        target_official="  The Deputy Minister  ",
        meeting_mode=MeetingMode.VIDEO,
        language=Language.EN,
    )
    with world.sessions() as session:
        world.casework.update(session, world.agent, request_id, changes)
    stored = world.stored(request_id)
    assert stored.target_official == "The Deputy Minister"
    assert (stored.meeting_mode, stored.language) == (MeetingMode.VIDEO, Language.EN)
    event = world.events(request_id)[-1]
    assert (event.kind, event.actor, event.at) == ("updated", f"user:{world.agent.id}", NOW)
    assert event.details == {"fields": ["target_official", "meeting_mode", "language"]}
    assert (event.from_status, event.to_status) == (None, None)

    # Nothing to change: nothing audited.
    before = world.snapshot(request_id)
    with world.sessions() as session:
        world.casework.update(session, world.agent, request_id, RequestChanges())
    assert world.snapshot(request_id) == before


@pytest.mark.parametrize(
    ("status", "changes", "error"),
    [
        (S.COMPLETED, RequestChanges(language=Language.EN), IllegalTransition),
        (S.CANCELLED, RequestChanges(category=RequesterCategory.MAN), IllegalTransition),
        (S.RECEIVED, RequestChanges(target_official="   "), ValidationError),
        (S.RECEIVED, RequestChanges(target_official="x" * 65), ValidationError),
    ],
)
def test_an_edit_of_a_closed_request_or_with_a_bad_name_is_refused(
    world: World, status: RequestStatus, changes: RequestChanges, error: type[Exception]
) -> None:
    request_id = world.request(status)
    world.refused(
        request_id,
        error,
        lambda session: world.casework.update(session, world.agent, request_id, changes),
    )


@pytest.mark.parametrize("status", [S.RECEIVED, S.COMPLETED], ids=pair_id)
def test_notes_are_kept_in_every_status_and_audited_without_their_text(
    world: World, status: RequestStatus
) -> None:
    request_id = world.request(status)
    with world.sessions() as session:
        note = world.casework.add_note(session, world.agent, request_id, "  called back  ")
        notes = world.casework.notes(session, world.agent, request_id)
    assert [(n.id, n.text, n.author_id) for n in notes] == [
        (note.id, "called back", world.agent.id)
    ]
    event = world.events(request_id)[-1]
    assert (event.kind, event.details) == ("note", {"note_id": note.id})
    assert world.stored(request_id).status == status


@pytest.mark.parametrize("text", ["", "  ", "x" * 4001])
def test_a_note_needs_text(world: World, text: str) -> None:
    request_id = world.request()
    world.refused(
        request_id,
        ValidationError,
        lambda session: world.casework.add_note(session, world.agent, request_id, text),
    )


def test_a_supervisor_reassigns_within_the_branch(world: World) -> None:
    request_id = world.request(S.IN_REVIEW)
    with world.sessions() as session:
        world.casework.reassign(session, world.supervisor, request_id, world.agent.id)
        world.casework.reassign(session, world.supervisor, request_id, world.other_agent.id)
        assignment = world.casework.assignee(session, request_id)
        assert assignment is not None
        assert (assignment.user_id, assignment.assigned_by) == (
            world.other_agent.id,
            world.supervisor.id,
        )
        assert world.casework.assignees(session, [request_id, 999]) == {request_id: assignment}
    events = [e for e in world.events(request_id) if e.kind == "reassigned"]
    assert [e.details for e in events] == [
        {"from_user": None, "to_user": world.agent.id},
        {"from_user": world.agent.id, "to_user": world.other_agent.id},
    ]


def test_reassignment_refusals_change_nothing(world: World) -> None:
    request_id = world.request(S.IN_REVIEW)
    with world.sessions() as session:
        inactive = session.get(User, world.other_agent.id)
        assert inactive is not None
        session.execute(update(User).where(User.id == inactive.id).values(is_active=False))
        session.commit()
    refusals: list[tuple[User, int, type[Exception]]] = [
        (world.agent, world.agent.id, Forbidden),  # agents do not reassign
        (world.supervisor, world.jeddah_agent.id, ValidationError),  # another branch
        (world.supervisor, world.admin.id, ValidationError),  # admins do not work requests
        (world.supervisor, world.other_agent.id, ValidationError),  # inactive
        (world.supervisor, 99_999, ValidationError),  # unknown
    ]
    for user, to_user, error in refusals:
        world.refused(
            request_id,
            error,
            lambda session, user=user, to_user=to_user: world.casework.reassign(
                session, user, request_id, to_user
            ),
        )
