"""Calls: the IVR's inbound calls, the callbacks owed to requesters, agents' click-to-calls."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tawasul.models.base import Base, UTCDateTime, _enum, utcnow
from tawasul.models.requests import Language, Request


class CallOutcome(StrEnum):
    """How a call into the IVR ended, as far as the system is concerned."""

    IN_PROGRESS = "in_progress"
    REQUEST_FILED = "request_filed"
    HUNG_UP = "hung_up"
    SENT_TO_AGENT = "sent_to_agent"
    NO_AGENT = "no_agent"
    """Sent to the agent queue, which refused it or where no agent answered (QUEUESTATUS is
    in the journey); the caller was offered a callback."""
    FAILED = "failed"


class Call(Base):
    """One call into the IVR, from the Asterisk channel that carried it."""

    __tablename__ = "call"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uniqueid: Mapped[str] = mapped_column(Text, unique=True)
    """Asterisk's ``UNIQUEID`` of the inbound channel."""
    caller_id: Mapped[str | None] = mapped_column(Text)
    language: Mapped[Language | None] = mapped_column(_enum(Language, 2))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    journey: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Each menu step: name, masked input, seconds since the call started."""
    outcome: Mapped[CallOutcome] = mapped_column(
        _enum(CallOutcome), default=CallOutcome.IN_PROGRESS
    )
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), index=True)
    disposition: Mapped[str | None] = mapped_column(String(32))
    """The agent's wrap-up code (``Settings.dispositions``), None until given."""
    disposition_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    disposition_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[Request | None] = relationship(back_populates="calls")


class CallbackStatus(StrEnum):
    """Where a callback to a requester stands."""

    WAITING = "waiting"
    """Keeping the caller's place in the queue, or waiting for its time."""
    DIALING = "dialing"
    CONNECTED = "connected"
    FAILED = "failed"
    """All attempts used without reaching the requester."""
    CANCELLED = "cancelled"


class Callback(Base):
    """A call the centre owes a requester: queued from the IVR or scheduled by an agent."""

    __tablename__ = "callback"
    __table_args__ = (Index("ix_callback_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("request.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"))
    """The inbound call that asked for it, if any."""
    number: Mapped[str] = mapped_column(String(16))
    """E.164, from the stored request or the caller ID, never from a request body."""
    branch: Mapped[str] = mapped_column(String(32))
    agent_endpoint: Mapped[str | None] = mapped_column(String(64))
    """The agent's softphone (e.g. PJSIP/1001) to ring first; None: the branch queue."""
    status: Mapped[CallbackStatus] = mapped_column(
        _enum(CallbackStatus), default=CallbackStatus.WAITING
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When the caller joined the queue: callbacks keep this place."""
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    last_result: Mapped[str | None] = mapped_column(String(64))
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    position: Mapped[int | None] = mapped_column(Integer)
    """The caller's place in the branch queue when the callback was asked for (1 = next)."""


class AgentCall(Base):
    """A click-to-call: the agent's softphone rang first, then the requester."""

    __tablename__ = "agent_call"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    agent_endpoint: Mapped[str] = mapped_column(String(64))
    connected: Mapped[bool | None] = mapped_column()
    """None while ringing."""
    result: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
