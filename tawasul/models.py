"""The database models (SQLAlchemy 2). Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from tawasul.workflow import RequestStatus


def utcnow() -> datetime:
    """Return the current time in UTC (the only time zone stored)."""
    return datetime.now(UTC)


class Channel(StrEnum):
    """How a request reached the centre."""

    PHONE = "phone"
    FAX = "fax"
    TELEGRAM = "telegram"
    MANUAL = "manual"
    PORTAL = "portal"


class RequesterCategory(StrEnum):
    """The split the centre reports its figures by."""

    MAN = "man"
    WOMAN = "woman"
    COMPANY = "company"


class MeetingMode(StrEnum):
    """How the requester will meet the official."""

    IN_PERSON = "in_person"
    VIDEO = "video"


class Language(StrEnum):
    """The languages of the phone menu and the SMS, Arabic first."""

    AR = "ar"
    EN = "en"


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


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps.

    SQLite stores no zone and hands back naive values; PostgreSQL hands back aware ones.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(kind: type[StrEnum], length: int = 24) -> Enum:
    # Stored as plain strings: portable across SQLite and PostgreSQL, and adding a value needs
    # no ALTER TYPE.
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    """Declarative base of every model."""


class Requester(Base):
    """A person or company that asks for meetings; matched by national ID / iqama."""

    __tablename__ = "requester"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    national_id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """HMAC-SHA256 of the national ID: matches without storing it in clear."""
    national_id_encrypted: Mapped[str] = mapped_column(Text)
    """AES-GCM token of the national ID, for authorised display only."""
    national_id_last4_hash: Mapped[str] = mapped_column(String(64))
    """Keyed hash of the last four digits, which the caller types to hear a request's status."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    requests: Mapped[list[Request]] = relationship(back_populates="requester")


class Request(Base):
    """A request for a meeting or a video call with an official."""

    __tablename__ = "request"
    __table_args__ = (
        Index("ix_request_status_created", "status", "created_at"),
        Index("ix_request_branch_status", "branch", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference_number: Mapped[str] = mapped_column(String(10), unique=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    status: Mapped[RequestStatus] = mapped_column(
        _enum(RequestStatus), default=RequestStatus.RECEIVED
    )
    is_partial: Mapped[bool] = mapped_column(default=False)
    """The caller hung up before the intake finished: kept, never shown as complete."""
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("requester.id"), index=True)
    category: Mapped[RequesterCategory | None] = mapped_column(_enum(RequesterCategory))
    target_official: Mapped[str | None] = mapped_column(String(64))
    meeting_mode: Mapped[MeetingMode | None] = mapped_column(_enum(MeetingMode))
    branch: Mapped[str] = mapped_column(String(32))
    callback_number: Mapped[str | None] = mapped_column(String(16))
    """E.164, e.g. +966501234567."""
    language: Mapped[Language] = mapped_column(_enum(Language, 2), default=Language.AR)
    voice_message_path: Mapped[str | None] = mapped_column(String(255))
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the ministry's system acknowledged the request (same-day forwarding)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    requester: Mapped[Requester | None] = relationship(back_populates="requests")
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id"
    )
    calls: Mapped[list[Call]] = relationship(back_populates="request")


class Call(Base):
    """One call into the IVR, from the Asterisk channel that carried it."""

    __tablename__ = "call"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    """Asterisk's ``UNIQUEID`` of the inbound channel."""
    caller_id: Mapped[str | None] = mapped_column(String(32))
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

    request: Mapped[Request | None] = relationship(back_populates="calls")


class RequestEvent(Base):
    """The audit trail: every change to a request, who made it and when. No personal data."""

    __tablename__ = "request_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    """"ivr", "user:<id>", "worker", "portal"..."""
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[RequestStatus | None] = mapped_column(_enum(RequestStatus))
    to_status: Mapped[RequestStatus | None] = mapped_column(_enum(RequestStatus))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    request: Mapped[Request] = relationship(back_populates="events")


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
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[SmsStatus] = mapped_column(_enum(SmsStatus), default=SmsStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class Report(Base):
    """A generated report (late forwarding, daily figures), kept for the console."""

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))
    """The local date it covers, YYYY-MM-DD."""
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- accounts and the agent workflow (agent API) --


class Role(StrEnum):
    """What a member of staff may do: agents work requests, supervisors decide, admins manage."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class User(Base):
    """A member of the centre's staff who signs in to the console or the API."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    """scrypt, with its parameters and salt (see ``tawasul.accounts``)."""
    role: Mapped[Role] = mapped_column(_enum(Role, 16))
    branch: Mapped[str] = mapped_column(String(32), index=True)
    extension: Mapped[str | None] = mapped_column(String(64))
    """The softphone endpoint click-to-call rings first, e.g. PJSIP/1001."""
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped to sign every console session of the user out (password change, deactivation)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A revocable bearer token of an API client; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class RequestAssignment(Base):
    """Which agent works a request now (one row per request, updated on reassignment)."""

    __tablename__ = "request_assignment"

    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))


class RequestNote(Base):
    """A follow-up note on a request; the text may hold personal data, so it is not audited."""

    __tablename__ = "request_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class VerificationStatus(StrEnum):
    """Where an identity check stands."""

    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"
    """Attempts used up, expired, or refused by the provider."""


class IdentityVerification(Base):
    """One attempt at proving who the requester is, with the provider that runs it."""

    __tablename__ = "identity_verification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    status: Mapped[VerificationStatus] = mapped_column(
        _enum(VerificationStatus), default=VerificationStatus.PENDING
    )
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    """Keyed hash of the one-time code (SMS provider); never the code."""
    external_id: Mapped[str | None] = mapped_column(String(128))
    """The provider's transaction id (national e-services provider)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    """The agent who started it; None when it was done outside (the e-services portal)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class AttachmentKind(StrEnum):
    """What a stored file is."""

    VOICE_MESSAGE = "voice_message"
    FAX = "fax"
    SCANNED_DOCUMENT = "scanned_document"
    """A paper telegram or a walk-in's letter, scanned by the agent who entered it."""


class Attachment(Base):
    """A file that came with a request (a fax document, a voice message), streamed on demand."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(_enum(AttachmentKind))
    path: Mapped[str] = mapped_column(String(255))
    """Relative to the var directory, or absolute."""
    content_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The console's lists: a branch's requests newest first (keyset on created_at, id), and the
# filters agents use most, each leading with the branch every non-admin query is scoped to.
Index("ix_request_branch_created_id", Request.branch, Request.created_at, Request.id)
Index("ix_request_created_id", Request.created_at, Request.id)
Index("ix_request_branch_channel_created", Request.branch, Request.channel, Request.created_at)
Index("ix_request_branch_category_created", Request.branch, Request.category, Request.created_at)
# A requester's open requests (the duplicates every list page and request page shows): without
# it SQLite, which keeps no statistics, walks every open request by the status index instead.
Index("ix_request_requester_status", Request.requester_id, Request.status)


# -- intake channels: fax, the e-services portal --


class FaxStatus(StrEnum):
    """How a received fax ended."""

    RECEIVED = "received"
    PARTIAL = "partial"
    """Some pages arrived before the transfer broke: kept, and the request marked partial."""
    FAILED = "failed"
    """No page arrived: the request is filed anyway, so that an agent calls the sender back."""


class FaxReception(Base):
    """One fax call: who sent it, how it ended (Asterisk's reason) and the request it filed."""

    __tablename__ = "fax_reception"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    """Asterisk's ``UNIQUEID`` of the receiving channel: a fax is recorded once."""
    sender: Mapped[str | None] = mapped_column(String(32))
    """The sending number (caller ID) as the network gave it."""
    remote_station_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[FaxStatus] = mapped_column(_enum(FaxStatus, 16))
    fax_status: Mapped[str | None] = mapped_column(String(32))
    """``FAXOPT(status)``: SUCCESS, FAILED..."""
    fax_error: Mapped[str | None] = mapped_column(String(64))
    """``FAXOPT(error)``, e.g. HANGUP or NO_ERROR."""
    fax_status_text: Mapped[str | None] = mapped_column(String(255))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    """Pages in the stored document."""
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalSubmission(Base):
    """A request the e-services portal submitted: its own id makes a resubmission harmless."""

    __tablename__ = "portal_submission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portal_request_id: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    """Which of the portal's signing keys signed the first submission."""
    payload_hash: Mapped[str] = mapped_column(String(64))
    """Keyed hash of what was submitted: the same id with other content is refused."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalNonce(Base):
    """A signed portal call already accepted: the same signature again is a replay."""

    __tablename__ = "portal_nonce"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the key id, the timestamp and the signature."""
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
