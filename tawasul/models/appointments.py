"""Branch calendars: slots with a capacity, and the appointments booked into them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tawasul.models.base import Base, UTCDateTime, _enum, utcnow
from tawasul.models.requests import MeetingMode


class AppointmentSlot(Base):
    """A time in a branch's calendar that can take ``capacity`` appointments."""

    __tablename__ = "appointment_slot"
    __table_args__ = (Index("ix_slot_branch_starts", "branch", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch: Mapped[str] = mapped_column(String(32))
    mode: Mapped[MeetingMode] = mapped_column(_enum(MeetingMode))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    """Kept by a conditional UPDATE so two agents cannot overbook the last place."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppointmentStatus(StrEnum):
    """Whether an appointment still holds its place in the calendar."""

    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    MISSED = "missed"


class Appointment(Base):
    """A request's meeting: a place in a slot, in person or by video (with its link)."""

    __tablename__ = "appointment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slot.id"), index=True)
    status: Mapped[AppointmentStatus] = mapped_column(
        _enum(AppointmentStatus), default=AppointmentStatus.BOOKED
    )
    meeting_link: Mapped[str | None] = mapped_column(String(255))
    reminder_outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    booked_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    slot: Mapped[AppointmentSlot] = relationship()
