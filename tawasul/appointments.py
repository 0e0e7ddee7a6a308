"""Branch calendars: slots with a capacity, in person or by video, and the bookings in them."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from tawasul.errors import Conflict, NotFound, ValidationError
from tawasul.models import (
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    MeetingMode,
    OutboxMessage,
    OutboxStatus,
    Request,
    utcnow,
)

CENTRE_TZ = timezone(timedelta(hours=3), "AST")
"""Saudi Arabia keeps UTC+3 all year (no daylight saving): the centre's wall clock."""
REMINDER_BEFORE = timedelta(days=1)
MAX_SLOT_MINUTES = 8 * 60
MAX_CAPACITY = 500


@dataclass(frozen=True)
class NewSlot:
    """A time a supervisor opens in a branch's calendar."""

    branch: str
    mode: MeetingMode
    starts_at: datetime
    minutes: int
    capacity: int


def local_text(moment: datetime, zone: tzinfo = CENTRE_TZ) -> str:
    """The centre's wall-clock date and time, as an SMS shows it (e.g. 2026-12-01 10:30)."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


_BOOKED_OF = (
    select(Appointment)
    .options(joinedload(Appointment.slot))
    .where(
        Appointment.request_id.in_(bindparam("request_ids", expanding=True)),
        Appointment.status == AppointmentStatus.BOOKED,
    )
    .order_by(Appointment.id.desc())
)
"""A page's booked appointments with their slots, built once (``current_of`` runs per page)."""


class AppointmentBook:
    """Opens slots and books requests into them without overbooking."""

    def __init__(
        self,
        branches: tuple[str, ...],
        video_base_url: str,
        clock: Callable[[], datetime] = utcnow,
        zone: tzinfo = CENTRE_TZ,
    ) -> None:
        self._branches = branches
        self._video_base_url = video_base_url.rstrip("/")
        self._clock = clock
        self.zone = zone
        """The centre's time zone (the ``timezone`` setting): appointments are read in it."""

    def local_text(self, moment: datetime) -> str:
        """An appointment's date and time on the centre's clock, as an SMS shows it."""
        return local_text(moment, self.zone)

    def open_slot(self, session: Session, new: NewSlot) -> AppointmentSlot:
        """Add a slot to a branch's calendar (committed).

        Args:
            session: committed on return.
            new: the branch, mode, start (aware), length in minutes and capacity.

        Returns:
            The new slot, with nothing booked.

        Raises:
            ValidationError: unknown branch, a start without a time zone or not in the future,
                a length outside 5 minutes to 8 hours, a capacity outside 1-500.
        """
        if new.branch not in self._branches:
            raise ValidationError("branch", f"one of {', '.join(self._branches)}")
        if new.starts_at.tzinfo is None:
            raise ValidationError("starts_at", "needs a time zone offset")
        if new.starts_at <= self._clock():
            raise ValidationError("starts_at", "must be in the future")
        if not 5 <= new.minutes <= MAX_SLOT_MINUTES:
            raise ValidationError("minutes", f"between 5 and {MAX_SLOT_MINUTES}")
        if not 1 <= new.capacity <= MAX_CAPACITY:
            raise ValidationError("capacity", f"between 1 and {MAX_CAPACITY}")
        slot = AppointmentSlot(
            branch=new.branch,
            mode=new.mode,
            starts_at=new.starts_at,
            ends_at=new.starts_at + timedelta(minutes=new.minutes),
            capacity=new.capacity,
            booked=0,
            created_at=self._clock(),
        )
        session.add(slot)
        session.commit()
        return slot

    def slots(
        self,
        session: Session,
        branches: Collection[str] | None,
        starts_from: datetime,
        starts_before: datetime,
        mode: MeetingMode | None = None,
        free_only: bool = False,
    ) -> list[AppointmentSlot]:
        """The slots of some branches starting in a time range, earliest first (at most 500).

        Args:
            session: the unit of work (only read).
            branches: the branches to list; None: all of them.
            starts_from: the earliest start included.
            starts_before: the first start no longer included.
            mode: only slots of this meeting mode; None: both.
            free_only: only slots with a place left.

        Returns:
            The slots, by start then id.
        """
        query = select(AppointmentSlot).where(
            AppointmentSlot.starts_at >= starts_from, AppointmentSlot.starts_at < starts_before
        )
        if branches is not None:
            query = query.where(AppointmentSlot.branch.in_(sorted(branches)))
        if mode is not None:
            query = query.where(AppointmentSlot.mode == mode)
        if free_only:
            query = query.where(AppointmentSlot.booked < AppointmentSlot.capacity)
        query = query.order_by(AppointmentSlot.starts_at, AppointmentSlot.id).limit(500)
        return list(session.scalars(query))

    def current(self, session: Session, request_id: int) -> Appointment | None:
        """The request's appointment that still holds a place, if any.

        Args:
            session: the unit of work (only read).
            request_id: the request.

        Returns:
            The newest booked appointment of the request, or None.
        """
        return session.scalar(
            select(Appointment)
            .where(
                Appointment.request_id == request_id,
                Appointment.status == AppointmentStatus.BOOKED,
            )
            .order_by(Appointment.id.desc())
        )

    def current_of(self, session: Session, request_ids: Collection[int]) -> dict[int, Appointment]:
        """Each request's appointment that still holds a place, with its slot: one query for a
        page of requests.

        Args:
            session: the unit of work (only read).
            request_ids: the requests of the page.

        Returns:
            The appointment of each request that has one, by request id (the others are absent).
        """
        found: dict[int, Appointment] = {}
        if not request_ids:
            return found
        for appointment in session.scalars(_BOOKED_OF, {"request_ids": sorted(request_ids)}):
            # Newest first, as :meth:`current` picks it.
            found.setdefault(appointment.request_id, appointment)
        return found

    def book(self, session: Session, request: Request, slot_id: int, user_id: int) -> Appointment:
        """Take a place in a slot for the request, in the caller's transaction.

        Any appointment the request held is released (a reschedule). The place is taken by one
        conditional UPDATE, so two agents racing for the last place cannot both get it.

        Args:
            session: the caller's unit of work; flushed, not committed.
            request: the request to book (its meeting mode becomes the slot's).
            slot_id: the slot, which must be of the request's branch.
            user_id: the member of staff who books it.

        Returns:
            The new appointment (with a meeting link when the slot is for video calls).

        Raises:
            NotFound: no such slot in the request's branch.
            ValidationError: the slot has started already.
            Conflict: the slot is full, or the request is booked in this slot already.
        """
        slot = session.get(AppointmentSlot, slot_id)
        if slot is None or slot.branch != request.branch:
            raise NotFound("no such slot in the request's branch")
        if slot.starts_at <= self._clock():
            raise ValidationError("slot_id", "the slot has started already")
        previous = self.current(session, request.id)
        if previous is not None and previous.slot_id == slot_id:
            raise Conflict("the request is booked in this slot already")
        # One conditional UPDATE: of two agents racing for the last place, one gets zero rows.
        taken = session.execute(
            update(AppointmentSlot)
            .where(AppointmentSlot.id == slot_id, AppointmentSlot.booked < slot.capacity)
            .values(booked=AppointmentSlot.booked + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            raise Conflict("the slot is full")
        session.refresh(slot)
        if previous is not None:
            self.release(session, previous, AppointmentStatus.RESCHEDULED)
        link = None
        if slot.mode == MeetingMode.VIDEO:
            link = f"{self._video_base_url}/{secrets.token_urlsafe(18)}"
        appointment = Appointment(
            request_id=request.id,
            slot_id=slot.id,
            status=AppointmentStatus.BOOKED,
            meeting_link=link,
            booked_by=user_id,
            created_at=self._clock(),
        )
        appointment.slot = slot
        session.add(appointment)
        request.meeting_mode = slot.mode
        session.flush()
        return appointment

    def release(
        self, session: Session, appointment: Appointment, status: AppointmentStatus
    ) -> None:
        """End an appointment: a cancelled or moved one gives its place back; its reminder goes.

        An appointment that no longer holds a place is left as it is, so a place is given back once.

        Args:
            session: the caller's unit of work; not committed.
            appointment: the appointment to end.
            status: why it ends: rescheduled or cancelled (the place is freed), attended or missed
                (the place stays taken).
        """
        if appointment.status != AppointmentStatus.BOOKED:
            return
        appointment.status = status
        if status in (AppointmentStatus.RESCHEDULED, AppointmentStatus.CANCELLED):
            session.execute(
                update(AppointmentSlot)
                .where(AppointmentSlot.id == appointment.slot_id, AppointmentSlot.booked > 0)
                .values(booked=AppointmentSlot.booked - 1)
                .execution_options(synchronize_session=False)
            )
            session.expire(appointment.slot)
        self.withdraw_reminder(session, appointment)

    def withdraw_reminder(self, session: Session, appointment: Appointment) -> None:
        """Stop a reminder that was not handed to the job queue yet (its appointment moved).

        Args:
            session: the caller's unit of work; not committed.
            appointment: the appointment whose reminder (if any) is withdrawn.
        """
        if appointment.reminder_outbox_id is None:
            return
        row = session.get(OutboxMessage, appointment.reminder_outbox_id)
        if row is not None and row.status == OutboxStatus.PENDING:
            # FAILED with a reason is the outbox's "will never be delivered" state.
            row.status = OutboxStatus.FAILED
            row.last_error = "withdrawn: the appointment was moved, cancelled or held"
            row.done_at = self._clock()

    def place(self, appointment: Appointment) -> str:
        """Where the requester goes: the branch, or the video-call link."""
        if appointment.meeting_link:
            return appointment.meeting_link
        return f"{appointment.slot.branch} branch"

    def reminder_time(self, appointment: Appointment) -> datetime | None:
        """When the day-before reminder is due; None when the appointment is under a day away."""
        due = appointment.slot.starts_at - REMINDER_BEFORE
        return due if due > self._clock() else None
