"""Intake use cases: a call comes in, the caller is identified, a request is filed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tawasul.audit import record_event
from tawasul.callbacks import schedule_callback
from tawasul.db import adopt, reading_beside
from tawasul.errors import Conflict, ValidationError
from tawasul.ids import new_reference_number, validate_national_id
from tawasul.masking import mask_phone
from tawasul.models import (
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    Attachment,
    AttachmentKind,
    Call,
    Callback,
    CallOutcome,
    Channel,
    Language,
    MeetingMode,
    Request,
    Requester,
    RequesterCategory,
    utcnow,
)
from tawasul.notifications import SmsStage, forward, notify
from tawasul.pii import PiiProtector
from tawasul.workflow import OPEN_STATUSES, RequestStatus

log = logging.getLogger(__name__)

REFERENCE_ATTEMPTS = 8
"""Fresh reference numbers tried before giving up (each collision has odds of about 1e-8)."""


@dataclass
class NewRequest:
    """What the intake collected for a new request (personal data still in clear)."""

    national_id: str
    language: Language
    branch: str
    channel: Channel = Channel.PHONE
    callback_number: str | None = None
    category: RequesterCategory | None = None
    target_official: str | None = None
    meeting_mode: MeetingMode | None = None
    voice_message_path: str | None = None
    is_partial: bool = False
    transcribe_later: bool = False
    """The requester's details are on a document (a fax) that an agent transcribes: no
    national ID yet (leave it empty), no requester until :meth:`IntakeService.identify`."""
    details: dict[str, Any] = field(default_factory=dict)
    """Extra facts for the "created" audit event (no personal data)."""


_UNSET: Any = object()
"""A field :meth:`IntakeService.fill_in` leaves as it is."""
_ANSWERS = (
    "category",
    "target_official",
    "meeting_mode",
    "branch",
    "callback_number",
    "voice_message_path",
    "updated_at",
)
"""The fields :meth:`IntakeService.fill_in` sets, kept by :meth:`IntakeService.close_call`."""


class IntakeService:
    """Records calls and files requests. Each method commits its own unit of work.

    No method leaves a transaction open: one left open while Asterisk plays or records would
    make every other caller wait (the FastAGI server refuses to send an AGI command while one
    is open, ``ivr.guard``). The phone menu's look-ups read beside the call's session
    (``tawasul.db.reading_beside``): on SQLite a read then takes no write lock and waits for
    no other call's writes, and the call's pending journey waits for its next commit.
    """

    def __init__(self, pii: PiiProtector, clock: Callable[[], datetime] = utcnow) -> None:
        self._pii = pii
        self._clock = clock

    def open_call(self, session: Session, uniqueid: str, caller_id: str) -> Call:
        """Record a call as it reaches the IVR (or find it again if the script is re-entered).

        Args:
            session: the call's database session; no transaction is left open on return.
            uniqueid: Asterisk's UNIQUEID of the inbound channel, stored as given.
            caller_id: the caller's number as the network gave it (any length, any
                characters), stored for matching and callbacks; '' when unknown.

        Returns:
            The ``Call`` row, committed.
        """
        call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        if call is None:
            now = self._clock()
            call = Call(
                uniqueid=uniqueid,
                caller_id=caller_id or None,
                started_at=now,
                answered_at=now,
                journey=[],
            )
            session.add(call)
            log.info("call %s opened from %s", uniqueid, mask_phone(caller_id))
        session.commit()
        return call

    def note_step(self, call: Call, step: str, shown: str = "") -> None:
        """Append one step of the journey without committing (it goes with the next commit).

        Args:
            call: the call the caller is on.
            step: the step's name ("main_menu", "national_id_invalid"...).
            shown: what the caller entered, already masked; '' for nothing.
        """
        elapsed = (self._clock() - call.started_at).total_seconds()
        entry = {"step": step, "t": round(elapsed, 3)}
        if shown:
            entry["input"] = shown
        call.journey = [*call.journey, entry]

    def set_language(
        self, session: Session, call: Call, language: Language, *, commit: bool = True
    ) -> None:
        """Remember the language the caller chose (one commit, journey included).

        Args:
            session: the call's database session; committed on return unless ``commit`` is
                False.
            call: the call.
            language: the caller's choice.
            commit: False to leave it for the call's next commit, like a step of the journey
                (:meth:`close_call` keeps it when the call ends first).
        """
        call.language = language
        self.note_step(call, "language", language.value)
        if commit:
            session.commit()

    def save_journey(self, session: Session, call: Call) -> None:
        """Commit the steps noted so far (before a long wait, so that they are kept).

        Args:
            session: the call's database session; committed on return.
            call: the call whose journey is written.
        """
        session.add(call)
        session.commit()

    def file_request(
        self,
        session: Session,
        new: NewRequest,
        call: Call | None = None,
        actor: str = "ivr",
        on_filed: Callable[[Request], None] | None = None,
    ) -> Request:
        """File a new request in status RECEIVED, with its audit event, SMS and forwarding.

        The confirmation SMS and the forwarding to the ministry are outbox rows committed in the
        same transaction as the request: both happen, exactly once, or neither is owed.

        Args:
            session: the database session; committed on return.
            new: what the intake collected; the national ID must be valid.
            call: the call that carried it, linked to the request when given.
            actor: who filed it, for the audit trail.
            on_filed: adds what belongs with the request (documents, the channel's own
                records) in the same transaction, before the commit.

        Returns:
            The committed request, with its reference number.

        Raises:
            ValidationError: when the national ID is not valid.
        """
        requester = None
        if not new.transcribe_later:
            requester = self._requester_for(session, validate_national_id(new.national_id))
        request = self._insert_with_reference(
            session,
            requester,
            new,
        )
        self._owe_filing(
            session,
            request,
            actor,
            {"channel": new.channel.value, "call": call.uniqueid if call else None, **new.details},
        )
        if call is not None:
            call.request_id = request.id
            call.outcome = CallOutcome.REQUEST_FILED
        if on_filed is not None:
            on_filed(request)
        session.commit()
        log.info("request %s filed (%s, %s)", request.reference_number, new.channel, new.branch)
        return request

    def identify(
        self,
        session: Session,
        request: Request,
        national_id: str,
        callback_number: str | None,
        actor: str,
    ) -> Request:
        """Give a request filed without a requester (a fax) the one an agent transcribed.

        Args:
            session: the database session; committed on return.
            request: the request, which must have no requester yet.
            national_id: the ID read from the document; must be valid.
            callback_number: a Saudi mobile in E.164 read from the document, if any.
            actor: who transcribed it, for the audit trail.

        Returns:
            The request, committed.

        Raises:
            ValidationError: an invalid national ID.
            Conflict: the request already has a requester (it is never replaced).
        """
        if request.requester_id is not None:
            raise Conflict("the request already has a requester")
        requester = self._requester_for(session, validate_national_id(national_id))
        request.requester_id = requester.id
        fields = ["national_id"]
        if callback_number is not None:
            request.callback_number = callback_number
            fields.append("callback_number")
        record_event(
            session,
            request.id,
            "requester_identified",
            actor=actor,
            at=self._clock(),
            details={"fields": fields},
        )
        session.commit()
        log.info("request %s: requester transcribed by %s", request.reference_number, actor)
        return request

    def start_partial_request(self, session: Session, new: NewRequest, call: Call) -> Request:
        """File what a caller has given so far as a partial request (no SMS, no forwarding).

        The phone menu calls this once the national ID is confirmed, then fills the request in
        step by step (:meth:`fill_in`): a caller who hangs up leaves a request marked partial,
        never lost and never shown as complete. :meth:`complete_request` finishes it.

        Args:
            session: the call's database session; committed on return.
            new: what the caller gave so far; the national ID must be valid.
            call: the call, linked to the request.

        Returns:
            The committed partial request, with its reference number.

        Raises:
            ValidationError: when the national ID is not valid.
        """
        national_id = validate_national_id(new.national_id)
        # One write transaction, its statements few: the call's pending steps, then the
        # requester (when new) and the request inserted together behind one savepoint, then
        # the call's link to it. Each statement under SQLite's write lock is a moment its
        # holder may wait for a core, with every other call's writes queued behind it.
        request = self._insert_partial(session, national_id, new)
        call.request_id = request.id
        self.note_step(call, "request_started")
        session.commit()
        log.info("partial request %s started on call %s", request.reference_number, call.uniqueid)
        return request

    def fill_in(
        self,
        session: Session,
        request: Request,
        *,
        category: RequesterCategory = _UNSET,
        target_official: str = _UNSET,
        meeting_mode: MeetingMode = _UNSET,
        branch: str = _UNSET,
        callback_number: str = _UNSET,
        voice_message_path: str | None = _UNSET,
        commit: bool = True,
    ) -> Request:
        """Store one more answer of a partial request (the fields given; the others stay).

        With ``commit`` False the answer goes with the call's next commit instead of its own:
        a caller who hangs up meanwhile keeps it all the same (:meth:`close_call` writes the
        answers of a partial request with the end of the call), only a server killed before
        that commit loses it; the request itself, committed when the ID was confirmed, never.

        Args:
            session: the call's database session; committed on return (with the journey).
            request: the partial request the caller is filling in.
            category: man, woman or company.
            target_official: the official's key, from the configured list.
            meeting_mode: in person or video.
            branch: the branch of an in-person meeting.
            callback_number: the number to call back, in E.164.
            voice_message_path: the encrypted voice message, relative to the var directory.
            commit: False to leave the answer for the next commit (no AGI command may be sent
                while a database transaction is open, but an answer held in memory opens none).

        Returns:
            The request, committed unless ``commit`` is False.
        """
        answers = {
            "category": category,
            "target_official": target_official,
            "meeting_mode": meeting_mode,
            "branch": branch,
            "callback_number": callback_number,
            "voice_message_path": voice_message_path,
        }
        for name, value in answers.items():
            if value is not _UNSET:
                setattr(request, name, value)
        request.updated_at = self._clock()
        if commit:
            session.commit()
        return request

    def complete_request(
        self, session: Session, request: Request, call: Call, actor: str = "ivr"
    ) -> Request:
        """Mark a partial request complete: audit event, confirmation SMS and forwarding owed in
        the same transaction.

        Args:
            session: the call's database session; committed on return.
            request: the partial request, every answer given.
            call: the call that filed it (its outcome becomes ``request_filed``).
            actor: who filed it, for the audit trail.

        Returns:
            The request, complete and committed.
        """
        request.is_partial = False
        request.updated_at = self._clock()
        self._owe_filing(
            session, request, actor, {"channel": request.channel.value, "call": call.uniqueid}
        )
        call.outcome = CallOutcome.REQUEST_FILED
        self.note_step(call, "request_filed")
        session.commit()
        log.info("request %s filed (%s, %s)", request.reference_number, "phone", request.branch)
        return request

    def add_voice_message(
        self, session: Session, request: Request, path: str, call: Call, actor: str = "ivr"
    ) -> Attachment:
        """Attach another voice message (a repeat caller, a follow-up) to an existing request.

        Args:
            session: the call's database session; committed on return.
            request: the request the message is for.
            path: the encrypted recording, relative to the var directory.
            call: the call it was recorded on (named in the audit event).
            actor: who added it, for the audit trail.

        Returns:
            The committed attachment.
        """
        attachment = Attachment(
            request_id=request.id,
            kind=AttachmentKind.VOICE_MESSAGE,
            path=path,
            content_type="audio/wav",
            created_at=self._clock(),
        )
        session.add(attachment)
        session.flush()
        record_event(
            session,
            request.id,
            "voice_message_added",
            actor=actor,
            at=self._clock(),
            details={"attachment_id": attachment.id, "call": call.uniqueid},
        )
        session.commit()
        return attachment

    def link_call(
        self, session: Session, call: Call, request: Request, step: str, shown: str = ""
    ) -> None:
        """Record that the call is about an existing request (a follow-up, a repeat caller).

        Args:
            session: the call's database session; committed on return (with the journey).
            call: the call.
            request: the request the caller turned out to be about.
            step: the journey step that says how ("added_to_existing", "status_told"...).
            shown: the step's input for the journey (no personal data); '' for none.
        """
        call.request_id = request.id
        self.note_step(call, step, shown)
        session.commit()

    def find_for_follow_up(self, session: Session, reference: str, last4: str) -> Request | None:
        """Find a complete request by its reference and its requester's ID's last four digits.

        Args:
            session: the call's database session; no transaction is left open on return.
            reference: the reference number the caller typed.
            last4: the last four digits of the national ID the caller typed.

        Returns:
            The request when both match; None when either does not (the caller is not told
            which).
        """
        with reading_beside(session) as reader:
            request = reader.scalar(
                select(Request)
                .where(Request.reference_number == reference)
                .where(Request.is_partial.is_(False))
            )
            matched = (
                request is not None
                and request.requester is not None
                and request.requester.national_id_last4_hash
                == self._pii.fingerprint("last4:" + last4)
            )
            if request is None or not matched:
                return None
            return adopt(session, [request])[0]

    def open_requests_of(self, session: Session, national_id: str) -> list[Request]:
        """The requester's complete requests that are still open (a repeat caller's).

        Args:
            session: the call's database session; no transaction is left open on return.
            national_id: the caller's national ID, in clear (only its fingerprint is used).

        Returns:
            The open requests, oldest first; empty for a new requester.
        """
        fingerprint = self._pii.fingerprint(national_id)
        with reading_beside(session) as reader:
            requests = reader.scalars(
                select(Request)
                .join(Requester)
                .where(Requester.national_id_hash == fingerprint)
                .where(Request.status.in_(OPEN_STATUSES))
                .where(Request.is_partial.is_(False))
                .order_by(Request.created_at)
            )
            return adopt(session, requests)

    def appointment_start(self, session: Session, request: Request) -> datetime | None:
        """When the request's booked meeting starts, for the caller who asks for the status.

        Args:
            session: the call's database session; no transaction is left open on return.
            request: the request.

        Returns:
            The start of the latest booked (or rescheduled) appointment's slot, UTC; None when
            there is none.
        """
        with reading_beside(session) as reader:
            return reader.scalar(
                select(AppointmentSlot.starts_at)
                .join(Appointment, Appointment.slot_id == AppointmentSlot.id)
                .where(Appointment.request_id == request.id)
                .where(
                    Appointment.status.in_(
                        [AppointmentStatus.BOOKED, AppointmentStatus.RESCHEDULED]
                    )
                )
                .order_by(Appointment.id.desc())
                .limit(1)
            )

    def send_to_agent(self, session: Session, call: Call) -> None:
        """Record that the caller goes to the agent queue (the dialplan does the queueing).

        Args:
            session: the call's database session; committed on return (with the journey).
            call: the call; its outcome becomes ``sent_to_agent`` unless it already has one.
        """
        self.note_step(call, "to_agent")
        if call.outcome == CallOutcome.IN_PROGRESS:
            call.outcome = CallOutcome.SENT_TO_AGENT
        session.commit()

    def book_callback(
        self,
        session: Session,
        call: Call,
        number: str,
        branch: str,
        due_at: datetime,
        max_attempts: int,
    ) -> Callback:
        """Owe the caller a callback (out of hours: when the branch opens), in one commit.

        Args:
            session: the call's database session; committed on return (with the journey).
            call: the call that asked for it (and its request, if any).
            number: the confirmed number to call, in E.164.
            branch: the branch whose agents call back.
            due_at: when to place it, UTC.
            max_attempts: how many times to try before giving up.

        Returns:
            The committed callback, its outbox row owed in the same transaction.
        """
        callback = Callback(
            request_id=call.request_id,
            call_id=call.id,
            number=number,
            branch=branch,
            queued_at=self._clock(),
            due_at=due_at,
            max_attempts=max_attempts,
        )
        schedule_callback(session, callback)
        self.note_step(call, "callback_booked")
        session.commit()
        return callback

    def close_call(self, session: Session, call: Call, outcome: CallOutcome | None = None) -> None:
        """Record the end of a call; the outcome stays as it was unless one is given.

        Whatever the call left half-done is rolled back, but not the journey, the language
        nor the answers of the call's request (:meth:`fill_in` without a commit): the steps
        noted and the answers given since the last commit happened, and they are kept.

        Args:
            session: the call's database session; committed on return.
            call: the call that ended.
            outcome: how it ended (``hung_up``, ``failed``); a filed request's outcome stays.
        """
        journey, language = list(call.journey), call.language
        answers = [
            (request, {name: getattr(request, name) for name in _ANSWERS})
            for request in session.dirty
            # The call's own request, even when a failed completion had marked it complete.
            if isinstance(request, Request) and request.id == call.request_id
        ]
        if session.in_transaction():
            session.rollback()
        call.journey, call.language = journey, language
        for request, given in answers:
            for name, value in given.items():
                setattr(request, name, value)
        call.ended_at = self._clock()
        if outcome is not None and call.outcome != CallOutcome.REQUEST_FILED:
            call.outcome = outcome
        elif call.outcome == CallOutcome.IN_PROGRESS:
            call.outcome = CallOutcome.HUNG_UP
        session.add(call)
        session.commit()

    def _owe_filing(
        self, session: Session, request: Request, actor: str, details: dict[str, Any]
    ) -> None:
        """A filed request's "created" event, confirmation SMS and forwarding, in the same
        transaction as the request (the caller commits)."""
        record_event(
            session,
            request.id,
            "created",
            actor=actor,
            at=self._clock(),
            to_status=RequestStatus.RECEIVED,
            details=details,
        )
        # Not flushed one by one: the commit's flush writes the request, its event and both
        # outbox rows together (one unit of work, not three under the write lock).
        notify(
            session,
            request,
            SmsStage.RECEIVED,
            {"reference": request.reference_number},
            flush=False,
        )
        forward(session, request, flush=False)

    def _requester_for(self, session: Session, national_id: str) -> Requester:
        fingerprint = self._pii.fingerprint(national_id)
        requester = session.scalar(
            select(Requester).where(Requester.national_id_hash == fingerprint)
        )
        if requester is not None:
            return requester
        candidate = self._new_requester(fingerprint, national_id, self._clock())
        try:
            with session.begin_nested():
                session.add(candidate)
            return candidate
        except IntegrityError:
            # Another call filed for the same person between our SELECT and INSERT.
            return session.scalars(
                select(Requester).where(Requester.national_id_hash == fingerprint)
            ).one()

    def _insert_partial(self, session: Session, national_id: str, new: NewRequest) -> Request:
        """Insert a partial request, and its requester when new, in one savepoint's flush.

        A unique violation is either another call that filed for the same person since our
        look-up, or (odds of about 1e-8) a reference number already taken: the requester is
        looked up again and another reference drawn.
        """
        fingerprint = self._pii.fingerprint(national_id)
        by_fingerprint = select(Requester).where(Requester.national_id_hash == fingerprint)
        # The call's pending steps need not be written before this look-up (autoflush would
        # write them in an UPDATE of their own; the commit writes them with the link).
        with session.no_autoflush:
            requester = session.scalar(by_fingerprint)
        now = self._clock()
        for _ in range(REFERENCE_ATTEMPTS):
            request = self._new_request(new, requester, now)
            request.is_partial = True
            candidate = None
            if requester is None:
                candidate = self._new_requester(fingerprint, national_id, now)
                request.requester = candidate
            try:
                with session.begin_nested():
                    session.add(request)
                return request
            except IntegrityError:
                if candidate is not None:
                    with session.no_autoflush:
                        requester = session.scalar(by_fingerprint)
                if requester is None or candidate is None:
                    log.warning("reference number collision, drawing another")
        raise RuntimeError("could not draw a free reference number")

    def _new_requester(self, fingerprint: str, national_id: str, now: datetime) -> Requester:
        return Requester(
            national_id_hash=fingerprint,
            national_id_encrypted=self._pii.encrypt(national_id, "national_id"),
            national_id_last4_hash=self._pii.fingerprint("last4:" + national_id[-4:]),
            created_at=now,
        )

    def _new_request(self, new: NewRequest, requester: Requester | None, now: datetime) -> Request:
        return Request(
            reference_number=new_reference_number(),
            channel=new.channel,
            status=RequestStatus.RECEIVED,
            requester_id=requester.id if requester is not None else None,
            is_partial=new.is_partial,
            branch=new.branch,
            callback_number=new.callback_number,
            language=new.language,
            category=new.category,
            target_official=new.target_official,
            meeting_mode=new.meeting_mode,
            voice_message_path=new.voice_message_path,
            created_at=now,
            updated_at=now,
        )

    def _insert_with_reference(
        self, session: Session, requester: Requester | None, new: NewRequest
    ) -> Request:
        now = self._clock()
        for _ in range(REFERENCE_ATTEMPTS):
            request = self._new_request(new, requester, now)
            try:
                with session.begin_nested():
                    session.add(request)
                return request
            except IntegrityError:
                log.warning("reference number collision, drawing another")
        raise RuntimeError("could not draw a free reference number")


def call_of_pop(session: Session, uniqueids: Sequence[str]) -> Call | None:
    """The IVR's call of a screen-pop, by Asterisk's ids of the caller's channel (None: the
    call did not go through the phone menu, or is unknown)."""
    for uniqueid in uniqueids:
        if uniqueid:
            call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
            if call is not None:
                return call
    return None


def call_to_link(
    session: Session, call_id: int | None, uniqueids: Sequence[str], field: str
) -> Call:
    """The IVR call an agent's new request came in on (the screen-pop's call).

    Args:
        session: a database session (only read).
        call_id: the call's id, when the client has it.
        uniqueids: else Asterisk's ids of the caller's channel (UNIQUEID, then LINKEDID).
        field: the input named when no call is found.

    Returns:
        The call.

    Raises:
        ValidationError: naming ``field``, when no such call was recorded.
    """
    call = session.get(Call, call_id) if call_id is not None else call_of_pop(session, uniqueids)
    if call is None:
        raise ValidationError(field, "no such call was recorded")
    return call


def link_call(call: Call, request: Request) -> None:
    """Link an agent's new request to the call it came in on.

    The call keeps its outcome (it reached an agent); a call that already filed a request in
    the phone menu keeps that one, and the new request's audit names the call instead.
    """
    if call.request_id is None:
        call.request_id = request.id
