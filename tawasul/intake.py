"""Intake use cases: a call comes in, the caller is identified, a request is filed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tawasul.errors import Conflict
from tawasul.ids import new_reference_number, validate_national_id
from tawasul.masking import mask_phone
from tawasul.models import (
    Attachment,
    AttachmentKind,
    Call,
    CallOutcome,
    Channel,
    Language,
    MeetingMode,
    Request,
    Requester,
    RequesterCategory,
    RequestEvent,
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


class IntakeService:
    """Records calls and files requests. Each method commits its own unit of work."""

    def __init__(self, pii: PiiProtector, clock: Callable[[], datetime] = utcnow) -> None:
        self._pii = pii
        self._clock = clock

    def open_call(self, session: Session, uniqueid: str, caller_id: str) -> Call:
        """Record a call as it reaches the IVR (or find it again if the script is re-entered).

        Args:
            session: the call's database session.
            uniqueid: Asterisk's UNIQUEID of the inbound channel.
            caller_id: the caller's number, stored for matching and callbacks.

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
            session.commit()
            log.info("call %s opened from %s", uniqueid, mask_phone(caller_id))
        return call

    def note_step(self, call: Call, step: str, shown: str = "") -> None:
        """Append one step of the journey without committing (it goes with the next commit)."""
        elapsed = (self._clock() - call.started_at).total_seconds()
        entry = {"step": step, "t": round(elapsed, 3)}
        if shown:
            entry["input"] = shown
        call.journey = [*call.journey, entry]

    def set_language(self, session: Session, call: Call, language: Language) -> None:
        """Remember the language the caller chose (one commit, journey included)."""
        call.language = language
        self.note_step(call, "language", language.value)
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
        session.add(
            RequestEvent(
                request_id=request.id,
                at=self._clock(),
                actor=actor,
                kind="created",
                to_status=RequestStatus.RECEIVED,
                details={
                    "channel": new.channel.value,
                    "call": call.uniqueid if call else None,
                    **new.details,
                },
            )
        )
        notify(session, request, SmsStage.RECEIVED, {"reference": request.reference_number})
        forward(session, request)
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
        session.add(
            RequestEvent(
                request_id=request.id,
                at=self._clock(),
                actor=actor,
                kind="requester_identified",
                details={"fields": fields},
            )
        )
        session.commit()
        log.info("request %s: requester transcribed by %s", request.reference_number, actor)
        return request

    def start_partial_request(self, session: Session, new: NewRequest, call: Call) -> Request:
        """File what a caller has given so far as a partial request (no SMS, no forwarding).

        The phone menu calls this once the national ID is confirmed, then fills the request in
        step by step: a caller who hangs up leaves a request marked partial, never lost and
        never shown as complete. :meth:`complete_request` finishes it.

        Raises:
            ValidationError: when the national ID is not valid.
        """
        national_id = validate_national_id(new.national_id)
        requester = self._requester_for(session, national_id)
        request = self._insert_with_reference(session, requester, new)
        request.is_partial = True
        call.request_id = request.id
        self.note_step(call, "request_started")
        session.commit()
        log.info("partial request %s started on call %s", request.reference_number, call.uniqueid)
        return request

    def complete_request(
        self, session: Session, request: Request, call: Call, actor: str = "ivr"
    ) -> Request:
        """Mark a partial request complete: audit event, confirmation SMS and forwarding owed in
        the same transaction."""
        request.is_partial = False
        request.updated_at = self._clock()
        session.add(
            RequestEvent(
                request_id=request.id,
                at=self._clock(),
                actor=actor,
                kind="created",
                to_status=RequestStatus.RECEIVED,
                details={"channel": request.channel.value, "call": call.uniqueid},
            )
        )
        notify(session, request, SmsStage.RECEIVED, {"reference": request.reference_number})
        forward(session, request)
        call.outcome = CallOutcome.REQUEST_FILED
        self.note_step(call, "request_filed")
        session.commit()
        log.info("request %s filed (%s, %s)", request.reference_number, "phone", request.branch)
        return request

    def add_voice_message(
        self, session: Session, request: Request, path: str, call: Call, actor: str = "ivr"
    ) -> Attachment:
        """Attach another voice message (a repeat caller, a follow-up) to an existing request."""
        attachment = Attachment(
            request_id=request.id,
            kind=AttachmentKind.VOICE_MESSAGE,
            path=path,
            content_type="audio/wav",
            created_at=self._clock(),
        )
        session.add(attachment)
        session.flush()
        session.add(
            RequestEvent(
                request_id=request.id,
                at=self._clock(),
                actor=actor,
                kind="voice_message_added",
                details={"attachment_id": attachment.id, "call": call.uniqueid},
            )
        )
        session.commit()
        return attachment

    def find_for_follow_up(self, session: Session, reference: str, last4: str) -> Request | None:
        """Return the complete request with this reference whose requester's national ID ends
        in ``last4``; None when either does not match (the caller is not told which)."""
        request = session.scalar(
            select(Request)
            .where(Request.reference_number == reference)
            .where(Request.is_partial.is_(False))
        )
        if request is None or request.requester is None:
            return None
        expected = request.requester.national_id_last4_hash
        if expected != self._pii.fingerprint("last4:" + last4):
            return None
        return request

    def open_requests_of(self, session: Session, national_id: str) -> list[Request]:
        """Return the requester's requests that are still open, oldest first."""
        fingerprint = self._pii.fingerprint(national_id)
        return list(
            session.scalars(
                select(Request)
                .join(Requester)
                .where(Requester.national_id_hash == fingerprint)
                .where(Request.status.in_(OPEN_STATUSES))
                .where(Request.is_partial.is_(False))
                .order_by(Request.created_at)
            )
        )

    def close_call(self, session: Session, call: Call, outcome: CallOutcome | None = None) -> None:
        """Record the end of a call; the outcome stays as it was unless one is given.

        Whatever the call left half-done is rolled back, but not the journey: the steps noted
        since the last commit happened, and they are kept.
        """
        journey = list(call.journey)
        if session.in_transaction():
            session.rollback()
        call.journey = journey
        call.ended_at = self._clock()
        if outcome is not None and call.outcome != CallOutcome.REQUEST_FILED:
            call.outcome = outcome
        elif call.outcome == CallOutcome.IN_PROGRESS:
            call.outcome = CallOutcome.HUNG_UP
        session.add(call)
        session.commit()

    def _requester_for(self, session: Session, national_id: str) -> Requester:
        fingerprint = self._pii.fingerprint(national_id)
        requester = session.scalar(
            select(Requester).where(Requester.national_id_hash == fingerprint)
        )
        if requester is not None:
            return requester
        candidate = Requester(
            national_id_hash=fingerprint,
            national_id_encrypted=self._pii.encrypt(national_id, "national_id"),
            national_id_last4_hash=self._pii.fingerprint("last4:" + national_id[-4:]),
            created_at=self._clock(),
        )
        try:
            with session.begin_nested():
                session.add(candidate)
            return candidate
        except IntegrityError:
            # Another call filed for the same person between our SELECT and INSERT.
            return session.scalars(
                select(Requester).where(Requester.national_id_hash == fingerprint)
            ).one()

    def _insert_with_reference(
        self, session: Session, requester: Requester | None, new: NewRequest
    ) -> Request:
        now = self._clock()
        for _ in range(REFERENCE_ATTEMPTS):
            request = Request(
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
            try:
                with session.begin_nested():
                    session.add(request)
                return request
            except IntegrityError:
                log.warning("reference number collision, drawing another")
        raise RuntimeError("could not draw a free reference number")
