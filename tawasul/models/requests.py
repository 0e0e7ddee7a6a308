"""The request aggregate: the requester, the request, its audit trail, assignment, notes,
identity checks, and the portal submission that filed it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates

from tawasul.models.base import Base, UTCDateTime, _enum, utcnow
from tawasul.workflow import RequestStatus

if TYPE_CHECKING:
    from tawasul.models.calls import Call


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
        # The old value is loaded before a change, even on an expired object: the tally
        # (RequestTally) takes one from where the request was.
        _enum(RequestStatus),
        default=RequestStatus.RECEIVED,
        active_history=True,
    )
    is_partial: Mapped[bool] = mapped_column(default=False)
    """The caller hung up before the intake finished: kept, never shown as complete."""
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("requester.id"), index=True)
    category: Mapped[RequesterCategory | None] = mapped_column(_enum(RequesterCategory))
    target_official: Mapped[str | None] = mapped_column(String(64))
    meeting_mode: Mapped[MeetingMode | None] = mapped_column(_enum(MeetingMode))
    branch: Mapped[str] = mapped_column(String(32), active_history=True)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), active_history=True)
    """Who works the request now: the user of its :class:`RequestAssignment`, kept on the
    request (by :mod:`tawasul.casework`, with the row locked) so that an agent's list is read
    by index and their counts come from a tally (:class:`RequestAssigneeTally`)."""
    callback_number: Mapped[str | None] = mapped_column(String(16))
    """E.164, e.g. +966501234567."""
    callback_tail: Mapped[str | None] = mapped_column(String(4))
    """The callback number's last four digits, last first (+966501234567: "7654"): the last 3
    or 4 digits an agent searches by are then a prefix, which an index finds. Set with the
    number, whoever sets it (:func:`callback_tail_of`)."""
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

    @validates("callback_number")
    def _keep_tail(self, _key: str, number: str | None) -> str | None:
        # Every intake (phone, fax, telegram, portal, manual) and every later edit or erasure
        # goes through this attribute: the searchable tail can never fall out of step.
        self.callback_tail = callback_tail_of(number)
        return number


def callback_tail_of(number: str | None) -> str | None:
    """The last four digits of a number, last first (None for none)."""
    if not number:
        return None
    digits = [char for char in number if char.isdigit()]
    return "".join(reversed(digits[-4:])) or None


class RequestTally(Base):
    """How many requests a branch has in each channel and status: the console's counts.

    Kept exact in the transaction of every change (:func:`_tally_changes`), so that counting
    reads a few rows per branch instead of every request of its history.

    A (branch, channel, status) is counted over several rows, its shards, and its count is
    their sum (:func:`tawasul.tally.tally_counts`; never read one row alone): a writer adds its
    delta to its own connection's shard (:func:`tawasul.tally.shard_of`), so that concurrent
    filings of one branch do not all wait for one row's lock. One shard may count below zero
    (a status left through another shard than the one it was entered through); the sum cannot.
    """

    __tablename__ = "request_tally"

    branch: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), primary_key=True)
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus), primary_key=True)
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, default=0, server_default="0"
    )
    """Which of the key's rows (0 to :data:`tawasul.tally.SHARDS` - 1; a recount writes 0)."""
    requests: Mapped[int] = mapped_column(Integer, default=0)


class RequestAssigneeTally(Base):
    """How many requests each member of staff works in each branch, channel and status: the
    console's counts of "mine".

    Kept exact with :class:`RequestTally`, by the same flush listener (:func:`_tally_changes`):
    an agent's assignments grow with history (closed requests stay assigned), their counts
    need not.
    """

    __tablename__ = "request_assignee_tally"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), primary_key=True)
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)


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


class RequestAssignment(Base):
    """Which agent works a request now (one row per request, updated on reassignment), since
    when and by whose decision; ``Request.assigned_to`` holds the same user."""

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


# The console's lists: a branch's requests newest first (keyset on created_at, id), and the
# filters agents use most, each leading with the branch every non-admin query is scoped to.
Index("ix_request_branch_created_id", Request.branch, Request.created_at, Request.id)
Index("ix_request_created_id", Request.created_at, Request.id)
Index("ix_request_branch_channel_created", Request.branch, Request.channel, Request.created_at)
Index("ix_request_branch_category_created", Request.branch, Request.category, Request.created_at)
# A requester's open requests (the duplicates every list page and request page shows): without
# it SQLite, which keeps no statistics, walks every open request by the status index instead.
Index("ix_request_requester_status", Request.requester_id, Request.status)
# The last digits: a four-digit tail is read in the list's order and stops at the page (the
# matches of a tail grow with history: 45 a branch at a million requests, ten times that for
# three digits, which are a prefix of the tail and so a range that is sorted).
Index(
    "ix_request_branch_callback_tail_created",
    Request.branch,
    Request.callback_tail,
    Request.created_at,
    Request.id,
)
Index("ix_request_callback_tail_created", Request.callback_tail, Request.created_at, Request.id)
# "Mine": an agent's requests newest first, and those of one status (the list's status filter),
# read from the agent's own end of the index however many requests they ever worked.
Index("ix_request_assigned_created_id", Request.assigned_to, Request.created_at, Request.id)
Index(
    "ix_request_assigned_status_created",
    Request.assigned_to,
    Request.status,
    Request.created_at,
    Request.id,
)

TallyKey = tuple[str, str, str]
"""(branch, channel, status): a row of :class:`RequestTally`."""
AssigneeKey = tuple[int, str, str, str]
"""(user, branch, channel, status): a row of :class:`RequestAssigneeTally`."""
_Place = tuple[int | None, str, str, str]
"""Where a request is counted: its assignee (None: nobody), branch, channel and status."""


def _key(branch: str, channel: Channel | str, status: RequestStatus | str) -> TallyKey:
    return (branch, Channel(channel).value, RequestStatus(status).value)


_TALLIED = ("assigned_to", "branch", "channel", "status")


def _place(request: Request) -> _Place:
    """Where a request is counted now."""
    status = request.status or RequestStatus.RECEIVED  # the column default, before a flush
    return (request.assigned_to, *_key(request.branch, request.channel, status))


def _before(request: Request) -> _Place | None:
    """Where a request was counted before this flush (None: nowhere it changed from)."""
    state = inspect(request)
    values = []
    changed = False
    for name in _TALLIED:
        history = state.attrs[name].history
        changed = changed or bool(history.deleted)
        values.append(history.deleted[0] if history.deleted else getattr(request, name))
    assignee, branch, channel, status = values
    return (assignee, *_key(branch, channel, status)) if changed else None


@event.listens_for(Session, "after_flush")
def _tally_changes(session: Session, _context: Any) -> None:
    """Note what a flush did to the requests' assignee, branch, channel and status, for the
    tallies (per branch, and per assignee) to take at the transaction's commit.

    Every status change goes through the ORM (the workflow sets ``Request.status`` after its
    UPDATE conditional on the status it read, so the status it replaces is the stored one even
    when two agents act at once), so the flush sees it; so does every change of assignee (the
    casework locks the request's row and reads the stored assignee before it changes it, and
    reads it back from the workflow's UPDATE, so a concurrent reassignment is never counted
    from a stale value).

    The deltas are not written here but kept on the transaction's connection and written as
    its last statements, just before COMMIT (:func:`_apply_tally_at_commit`): every filing of
    a branch changes the same tally row, and a row written at the first flush stays locked
    until COMMIT, so on PostgreSQL the filings of every FastAGI process queued for it behind
    a holder that, between its next statements, waited for a core or its interpreter lock
    (at 200 calls in flight, 95% of the samples of backends running a statement waited for
    that row's lock: bench/calls.py).
    """
    branches: dict[TallyKey, int] = {}
    assignees: dict[AssigneeKey, int] = {}

    def add(place: _Place, delta: int) -> None:
        assignee, branch, channel, status = place
        key = (branch, channel, status)
        branches[key] = branches.get(key, 0) + delta
        if assignee is not None:
            mine = (assignee, *key)
            assignees[mine] = assignees.get(mine, 0) + delta

    for obj in session.new:
        if isinstance(obj, Request):
            add(_place(obj), 1)
    for obj in session.dirty:
        if isinstance(obj, Request) and (before := _before(obj)) is not None:
            add(before, -1)
            add(_place(obj), 1)
    for obj in session.deleted:
        if isinstance(obj, Request):
            add(_before(obj) or _place(obj), -1)
    if any(branches.values()) or any(assignees.values()):
        pending = _pending(session.connection())
        _merge(pending[-1], (branches, assignees))


_PENDING = "tawasul.tally.pending"
"""Connection info key: the tally deltas its transaction owes, one frame for the transaction
and one more for each savepoint open in it (innermost last)."""
_Deltas = tuple[dict[TallyKey, int], dict[AssigneeKey, int]]
_K = TypeVar("_K")


def _pending(connection: Connection) -> list[_Deltas]:
    frames: list[_Deltas] | None = connection.info.get(_PENDING)
    if frames is None:
        frames = connection.info[_PENDING] = [({}, {})]
    return frames


def _merge(into: _Deltas, deltas: _Deltas) -> None:
    _add(into[0], deltas[0])
    _add(into[1], deltas[1])


def _add(totals: dict[_K, int], changes: dict[_K, int]) -> None:
    for key, delta in changes.items():
        totals[key] = totals.get(key, 0) + delta


@event.listens_for(Engine, "begin")
def _open_tally(connection: Connection) -> None:
    # A fresh frame at BEGIN: a transaction never inherits what one before it on the same
    # DB-API connection owed and did not end through commit or rollback (one invalidated).
    connection.info[_PENDING] = [({}, {})]


@event.listens_for(Engine, "rollback")
def _forget_tally(connection: Connection) -> None:
    connection.info.pop(_PENDING, None)


@event.listens_for(Engine, "savepoint")
def _open_tally_frame(connection: Connection, _name: str | None) -> None:
    _pending(connection).append(({}, {}))


@event.listens_for(Engine, "rollback_savepoint")
def _drop_tally_frame(connection: Connection, _name: str, _context: Any) -> None:
    # What the flushes inside the savepoint changed is undone with it. A savepoint ends once,
    # by ROLLBACK TO or by RELEASE, always the innermost first (SQLAlchemy closes the inner
    # ones before); savepoints still open when the transaction ends end with it.
    frames = _pending(connection)
    if len(frames) > 1:
        frames.pop()


@event.listens_for(Engine, "release_savepoint")
def _close_tally_frame(connection: Connection, _name: str, _context: Any) -> None:
    frames = _pending(connection)
    if len(frames) > 1:
        _merge(frames[-2], frames.pop())


@event.listens_for(Engine, "commit")
def _apply_tally_at_commit(connection: Connection) -> None:
    """Write the deltas the transaction owes as its last statements, just before COMMIT.

    The tally rows' locks then last from the upsert to the commit (one round trip), instead
    of from the first flush to the commit. The deltas are applied in key order, the branch
    tally first, so that two transactions never lock the same two tally rows in opposite
    orders (PostgreSQL); and after every other statement, so no transaction waits for a
    request's row while it holds a tally row.
    """
    frames = connection.info.pop(_PENDING, None)
    if not frames:
        return
    totals: _Deltas = ({}, {})
    for frame in frames:
        _merge(totals, frame)
    changes = sorted((key, delta) for key, delta in totals[0].items() if delta)
    assigned = sorted((key, delta) for key, delta in totals[1].items() if delta)
    if changes or assigned:
        from tawasul.tally import apply_assignee_deltas, apply_deltas

        apply_deltas(connection, changes)
        apply_assignee_deltas(connection, assigned)
