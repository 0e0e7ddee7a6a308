"""The outbox (side effects owed, written with the change that causes them) and the SMS sent."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tawasul.models.base import Base, UTCDateTime, _enum, utcnow
from tawasul.models.requests import Language


class OutboxKind(StrEnum):
    """The side effects the system owes someone, each delivered by a job."""

    SMS = "sms"
    FORWARD = "forward"
    CALLBACK = "callback"
    REPORT = "report"


class OutboxStatus(StrEnum):
    """Where an outbox row stands between the transaction that wrote it and its effect."""

    PENDING = "pending"
    """Written, not yet handed to RQ (or handed back: held by a rate limit, due later)."""
    ENQUEUED = "enqueued"
    DONE = "done"
    FAILED = "failed"
    """Given up: permanent error or attempts exhausted. ``last_error`` says why."""


class OutboxPriority(IntEnum):
    """Which owed effect goes first when there is a backlog: the lower, the sooner.

    The relay hands rows to RQ in this order (then in the order they were owed), and the SMS
    per-number limit treats each priority its own way (``tawasul.sms``, README "SMS").
    """

    URGENT = 0
    """Someone is waiting for it now: the one-time identity code. Never held by the
    per-number limit nor counted against it; capped by its own limit (``tawasul.identity``)."""
    DECISION = 1
    """A decision or the appointment (approved, rejected, reminder): counted by the limit;
    when held, it goes before the progress messages held for the same number."""
    NORMAL = 2
    """Progress messages (received, in review, completed) and every other effect."""


class OutboxMessage(Base):
    """A side effect written in the same transaction as the change that causes it.

    The relay hands pending rows to RQ; the job keyed by the row's id performs the effect once
    (a job that runs twice finds its work done); the reconciler re-enqueues what was lost.
    Rows carry ids and template keys, never personal data: RQ writes job arguments to disk.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available", "status", "available_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(_enum(OutboxKind))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """Not before this time (a reminder the day before, a message held by the rate limit)."""
    priority: Mapped[int] = mapped_column(
        Integer, default=OutboxPriority.NORMAL, server_default=str(int(OutboxPriority.NORMAL))
    )
    """An :class:`OutboxPriority`: the relay hands the lower first."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """How many times it was handed to RQ."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class SmsStatus(StrEnum):
    """Delivery status of one text message."""

    QUEUED = "queued"
    HELD = "held"
    """Over the per-number rate limit: sent when the window allows, never dropped."""
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class SmsMessage(Base):
    """A text message to a requester, as rendered and as the provider reported it."""

    __tablename__ = "sms_message"
    __table_args__ = (Index("ix_sms_to_created", "to_number", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    """The idempotency key: one outbox row, one message."""
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), index=True)
    to_number: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(32))
    language: Mapped[Language] = mapped_column(_enum(Language, 2))
    body: Mapped[str] = mapped_column(Text)
    parts: Mapped[int | None] = mapped_column(Integer)
    """SMS parts the body is sent in (``tawasul.sms_parts``); operators bill per part."""
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[SmsStatus] = mapped_column(_enum(SmsStatus), default=SmsStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """While held by the per-number limit: when it may go (None once it went, or never held)."""
