"""Branch calendars (``tawasul.appointments.AppointmentBook``) on a real SQLite database: opening
slots, booking against capacity, giving places back, reminders; and the casework use cases that
book through it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tawasul.appointments import NewSlot, local_text
from tawasul.errors import Conflict, NotFound, ValidationError
from tawasul.models import (
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    MeetingMode,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Request,
)
from tawasul.workflow import RequestStatus
from tests.unit.casework_support import BRANCHES, NOW, VIDEO_BASE, World, migrated_sqlite

S = RequestStatus


@pytest.fixture
def world(tmp_path: Path) -> World:
    """Staff and services on a fresh migrated SQLite database."""
    return World.build(migrated_sqlite(tmp_path))


def book(world: World, request_id: int, slot_id: int) -> Appointment:
    """Book a request into a slot through the book alone, committed."""
    with world.sessions() as session:
        request = session.get(Request, request_id)
        assert request is not None
        appointment = world.book.book(session, request, slot_id, world.agent.id)
        session.commit()
        return appointment


def release(world: World, appointment_id: int, status: AppointmentStatus) -> None:
    """End an appointment through the book, committed."""
    with world.sessions() as session:
        appointment = session.get(Appointment, appointment_id)
        assert appointment is not None
        world.book.release(session, appointment, status)
        session.commit()


def refused_booking(
    world: World, request_id: int, slot_id: int, error: type[Exception], reason: str = ""
) -> None:
    """Booking the request into the slot raises ``error`` and changes no booking or place."""

    def use_case(session: Session) -> None:
        request = session.get(Request, request_id)
        assert request is not None
        world.book.book(session, request, slot_id, world.agent.id)

    assert reason in str(world.refused(request_id, error, use_case))


def status_of(world: World, appointment_id: int) -> AppointmentStatus:
    with world.sessions() as session:
        appointment = session.get(Appointment, appointment_id)
        assert appointment is not None
        return appointment.status


# -- opening slots ----------------------------------------------------------------------------


def test_a_slot_is_opened_empty_with_its_end(world: World) -> None:
    starts = NOW + timedelta(days=2)
    with world.sessions() as session:
        slot = world.book.open_slot(
            session, NewSlot("jeddah", MeetingMode.VIDEO, starts, minutes=45, capacity=3)
        )
    with world.sessions() as session:
        stored = session.get(AppointmentSlot, slot.id)
        assert stored is not None
        assert (stored.branch, stored.mode, stored.capacity, stored.booked) == (
            "jeddah",
            MeetingMode.VIDEO,
            3,
            0,
        )
        assert (stored.starts_at, stored.ends_at) == (starts, starts + timedelta(minutes=45))


@pytest.mark.parametrize(
    ("field", "new"),
    [
        ("branch", NewSlot("dammam", MeetingMode.IN_PERSON, NOW + timedelta(days=1), 30, 1)),
        ("starts_at", NewSlot("riyadh", MeetingMode.IN_PERSON, datetime(2027, 1, 1, 9), 30, 1)),
        ("starts_at", NewSlot("riyadh", MeetingMode.IN_PERSON, NOW, 30, 1)),
        ("minutes", NewSlot("riyadh", MeetingMode.IN_PERSON, NOW + timedelta(days=1), 4, 1)),
        ("minutes", NewSlot("riyadh", MeetingMode.IN_PERSON, NOW + timedelta(days=1), 481, 1)),
        ("capacity", NewSlot("riyadh", MeetingMode.IN_PERSON, NOW + timedelta(days=1), 30, 0)),
        ("capacity", NewSlot("riyadh", MeetingMode.IN_PERSON, NOW + timedelta(days=1), 30, 501)),
    ],
)
def test_a_bad_slot_is_refused_and_not_stored(world: World, field: str, new: NewSlot) -> None:
    with world.sessions() as session:
        with pytest.raises(ValidationError) as err:
            world.book.open_slot(session, new)
        assert err.value.field == field
        assert (
            world.book.slots(session, None, NOW - timedelta(days=1), NOW + timedelta(days=9)) == []
        )


def test_slots_are_listed_by_branch_mode_and_free_places(world: World) -> None:
    full = world.slot(capacity=1, starts_in=timedelta(days=1))
    video = world.slot(capacity=2, mode=MeetingMode.VIDEO, starts_in=timedelta(days=2))
    jeddah = world.slot(branch="jeddah", starts_in=timedelta(days=3))
    later = world.slot(starts_in=timedelta(days=30))
    book(world, world.request(S.APPROVED), full)
    start, end = NOW, NOW + timedelta(days=7)

    with world.sessions() as session:
        listed = world.book.slots(session, None, start, end)
        assert [slot.id for slot in listed] == [full, video, jeddah]  # earliest first
        assert later not in [slot.id for slot in world.book.slots(session, None, start, end)]
        assert [s.id for s in world.book.slots(session, {"riyadh"}, start, end)] == [full, video]
        assert [s.id for s in world.book.slots(session, None, start, end, free_only=True)] == [
            video,
            jeddah,
        ]
        assert [
            s.id for s in world.book.slots(session, BRANCHES, start, end, mode=MeetingMode.VIDEO)
        ] == [video]


# -- booking against capacity -----------------------------------------------------------------


def test_a_slot_takes_as_many_bookings_as_its_capacity_and_a_cancellation_frees_one(
    world: World,
) -> None:
    slot = world.slot(capacity=2)
    first, second, third = (world.request(S.APPROVED) for _ in range(3))
    booked_first = book(world, first, slot)
    book(world, second, slot)
    assert world.booked(slot) == 2

    refused_booking(world, third, slot, Conflict, "the slot is full")
    assert world.booked(slot) == 2

    release(world, booked_first.id, AppointmentStatus.CANCELLED)
    assert world.booked(slot) == 1
    assert status_of(world, booked_first.id) == AppointmentStatus.CANCELLED
    taken = book(world, third, slot)
    assert world.booked(slot) == 2
    with world.sessions() as session:
        current = world.book.current(session, third)
        assert current is not None and current.id == taken.id


@pytest.mark.parametrize("status", [AppointmentStatus.ATTENDED, AppointmentStatus.MISSED])
def test_a_held_or_missed_meeting_keeps_its_place(world: World, status: AppointmentStatus) -> None:
    slot = world.slot(capacity=1)
    appointment = book(world, world.request(S.SCHEDULED), slot)
    release(world, appointment.id, status)
    assert status_of(world, appointment.id) == status
    assert world.booked(slot) == 1


def test_an_appointment_gives_its_place_back_once(world: World) -> None:
    slot = world.slot(capacity=2)
    appointment = book(world, world.request(S.SCHEDULED), slot)
    book(world, world.request(S.SCHEDULED), slot)
    release(world, appointment.id, AppointmentStatus.CANCELLED)
    release(world, appointment.id, AppointmentStatus.CANCELLED)
    release(world, appointment.id, AppointmentStatus.RESCHEDULED)
    assert world.booked(slot) == 1
    assert status_of(world, appointment.id) == AppointmentStatus.CANCELLED


def test_booking_another_slot_moves_the_booking(world: World) -> None:
    request_id = world.request(S.SCHEDULED)
    old_slot, new_slot = world.slot(capacity=1), world.slot(capacity=1)
    old = book(world, request_id, old_slot)
    new = book(world, request_id, new_slot)
    assert status_of(world, old.id) == AppointmentStatus.RESCHEDULED
    assert (world.booked(old_slot), world.booked(new_slot)) == (0, 1)
    with world.sessions() as session:
        assert world.book.current_of(session, [request_id, 12345]).keys() == {request_id}
        assert world.book.current_of(session, [request_id])[request_id].id == new.id
        assert world.book.current_of(session, []) == {}


def test_a_full_slot_refuses_a_move_and_keeps_the_old_booking(world: World) -> None:
    request_id = world.request(S.SCHEDULED)
    old_slot, full_slot = world.slot(capacity=1), world.slot(capacity=1)
    old = book(world, request_id, old_slot)
    book(world, world.request(S.SCHEDULED), full_slot)
    refused_booking(world, request_id, full_slot, Conflict, "the slot is full")
    assert status_of(world, old.id) == AppointmentStatus.BOOKED
    assert (world.booked(old_slot), world.booked(full_slot)) == (1, 1)


@pytest.mark.parametrize(
    ("make_slot", "error"),
    [
        (lambda world: world.slot(branch="jeddah"), NotFound),
        (lambda world: 424242, NotFound),
        (lambda world: world.slot(starts_in=timedelta(0)), ValidationError),
        (lambda world: world.slot(starts_in=-timedelta(hours=1)), ValidationError),
    ],
    ids=["another-branch", "unknown", "starting-now", "started"],
)
def test_a_slot_of_another_branch_unknown_or_started_is_refused(
    world: World, make_slot: Callable[[World], int], error: type[Exception]
) -> None:
    slot_id = make_slot(world)
    request_id = world.request(S.APPROVED)
    refused_booking(world, request_id, slot_id, error)
    if error is ValidationError:
        assert world.booked(slot_id) == 0


def test_booking_the_same_slot_again_is_a_conflict(world: World) -> None:
    slot = world.slot(capacity=5)
    request_id = world.request(S.SCHEDULED)
    first = book(world, request_id, slot)
    refused_booking(world, request_id, slot, Conflict, "already")
    assert world.booked(slot) == 1
    assert status_of(world, first.id) == AppointmentStatus.BOOKED


def test_a_video_booking_gets_its_own_link_and_an_in_person_one_the_branch(world: World) -> None:
    video_slot = world.slot(capacity=2, mode=MeetingMode.VIDEO)
    one = book(world, world.request(S.APPROVED), video_slot)
    two = book(world, world.request(S.APPROVED), video_slot)
    in_person = book(world, world.request(S.APPROVED), world.slot())
    assert one.meeting_link and one.meeting_link.startswith(VIDEO_BASE + "/")
    assert two.meeting_link and one.meeting_link != two.meeting_link
    assert in_person.meeting_link is None
    assert world.book.place(one) == one.meeting_link
    assert world.book.place(in_person) == "riyadh branch"
    assert world.stored(one.request_id).meeting_mode == MeetingMode.VIDEO
    assert world.stored(in_person.request_id).meeting_mode == MeetingMode.IN_PERSON


def test_a_reminder_is_due_the_day_before_unless_that_has_passed(world: World) -> None:
    soon = book(world, world.request(S.APPROVED), world.slot(starts_in=timedelta(hours=20)))
    later = book(world, world.request(S.APPROVED), world.slot(starts_in=timedelta(days=3)))
    assert world.book.reminder_time(soon) is None
    assert world.book.reminder_time(later) == NOW + timedelta(days=2)


def test_local_text_is_the_centres_wall_clock() -> None:
    assert local_text(datetime(2026, 12, 1, 7, 30, tzinfo=UTC)) == "2026-12-01 10:30"


def test_a_moved_booking_withdraws_a_reminder_not_yet_handed_to_the_queue(world: World) -> None:
    request_id = world.request(S.APPROVED)
    with world.sessions() as session:
        pending = OutboxMessage(kind=OutboxKind.SMS, request_id=request_id, payload={})
        enqueued = OutboxMessage(
            kind=OutboxKind.SMS, request_id=request_id, payload={}, status=OutboxStatus.ENQUEUED
        )
        session.add_all([pending, enqueued])
        session.commit()
    first = book(world, request_id, world.slot())
    second = book(world, world.request(S.APPROVED), world.slot())
    with world.sessions() as session:
        for appointment, row in ((first, pending), (second, enqueued)):
            stored = session.get(Appointment, appointment.id)
            assert stored is not None
            stored.reminder_outbox_id = row.id
        session.commit()
    release(world, first.id, AppointmentStatus.RESCHEDULED)
    release(world, second.id, AppointmentStatus.CANCELLED)
    with world.sessions() as session:
        withdrawn = session.get(OutboxMessage, pending.id)
        kept = session.get(OutboxMessage, enqueued.id)
        assert withdrawn is not None and kept is not None
        assert withdrawn.status == OutboxStatus.FAILED
        assert withdrawn.last_error and withdrawn.last_error.startswith("withdrawn")
        assert withdrawn.done_at == NOW
        # One already handed to RQ cannot be taken back here: the job checks the appointment.
        assert (kept.status, kept.last_error) == (OutboxStatus.ENQUEUED, None)


# -- through the casework use cases -----------------------------------------------------------


def test_scheduling_into_a_full_slot_is_refused_and_changes_nothing(world: World) -> None:
    slot = world.slot(capacity=1)
    with world.sessions() as session:
        world.casework.schedule(session, world.agent, world.request(S.APPROVED), slot)
    request_id = world.request(S.APPROVED)
    world.refused(
        request_id,
        Conflict,
        lambda session: world.casework.schedule(session, world.agent, request_id, slot),
    )
    assert world.stored(request_id).status == S.APPROVED
    assert world.booked(slot) == 1


def test_cancelling_a_scheduled_request_frees_its_place_for_the_next(world: World) -> None:
    slot = world.slot(capacity=1)
    first, second = world.request(S.APPROVED), world.request(S.APPROVED)
    with world.sessions() as session:
        world.casework.schedule(session, world.agent, first, slot)
        with pytest.raises(Conflict):
            world.casework.schedule(session, world.agent, second, slot)
        session.rollback()
        world.casework.cancel(session, world.agent, first, "the requester travels")
        world.casework.schedule(session, world.agent, second, slot)
    assert world.booked(slot) == 1
    assert (world.stored(first).status, world.stored(second).status) == (S.CANCELLED, S.SCHEDULED)


def test_a_reschedule_withdraws_the_old_reminder_and_owes_a_new_one(world: World) -> None:
    request_id = world.request(S.APPROVED)
    old_slot, new_slot = world.slot(), world.slot(starts_in=timedelta(days=5))
    with world.sessions() as session:
        old = world.casework.schedule(session, world.agent, request_id, old_slot)
        new = world.casework.schedule(session, world.agent, request_id, new_slot)
    assert old.reminder_outbox_id is not None and new.reminder_outbox_id is not None
    with world.sessions() as session:
        old_reminder = session.get(OutboxMessage, old.reminder_outbox_id)
        new_reminder = session.get(OutboxMessage, new.reminder_outbox_id)
        assert old_reminder is not None and new_reminder is not None
        assert old_reminder.status == OutboxStatus.FAILED
        assert new_reminder.status == OutboxStatus.PENDING
        assert new_reminder.available_at == NOW + timedelta(days=4)
        assert new_reminder.payload["stage"] == "reminder"
    assert (world.booked(old_slot), world.booked(new_slot)) == (0, 1)
    assert [e.kind for e in world.events(request_id)] == ["scheduled", "rescheduled"]
