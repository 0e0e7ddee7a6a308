"""Tables the metrics are computed from (raw queue events, one row per queue visit) and the
reports generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tawasul.models.base import Base, UTCDateTime, utcnow


class QueueEvent(Base):
    """An AMI queue or agent event as Asterisk reported it, stored once (replays are ignored)."""

    __tablename__ = "queue_event"
    __table_args__ = (Index("ix_queue_event_member_at", "member", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    """A digest of the event's name, channel, member and Asterisk timestamp: the replay guard."""
    event: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(64))
    uniqueid: Mapped[str | None] = mapped_column(Text, index=True)
    member: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    """Asterisk's own timestamp of the event (``timestampevents = yes``), not our clock."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QueueCall(Base):
    """One caller's visit to one queue: when they joined, were answered, left, hung up."""

    __tablename__ = "queue_call"
    __table_args__ = (
        UniqueConstraint("uniqueid", "queue", "joined_at", name="uq_queue_call_visit"),
        Index("ix_queue_call_queue_joined", "queue", "joined_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uniqueid: Mapped[str] = mapped_column(Text, index=True)
    queue: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"))
    """The IVR's ``Call`` when the caller came through it (same channel)."""
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wait_s: Mapped[float | None] = mapped_column(Float)
    """Joined to answered, or joined to abandoned/left."""
    talk_s: Mapped[float | None] = mapped_column(Float)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    """Time the agent put the caller on hold during the conversation."""
    hold_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agent: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16), default="waiting")
    """waiting, answered, abandoned, exited (timeout, key, callback), interrupted (restart)."""


class Report(Base):
    """A generated report (late forwarding, daily figures), kept for the console."""

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))
    """The local date it covers, YYYY-MM-DD."""
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
