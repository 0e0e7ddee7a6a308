"""The agents' use cases on a request: claim, verify, decide, schedule, close, note, reassign.

Each use case checks the user's role and branch, checks the workflow, and commits the change
together with its audit event, the requester's SMS and the forwarding to the ministry: all of
them or none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import BindParameter

from tawasul.appointments import AppointmentBook
from tawasul.audit import record_event
from tawasul.errors import (
    IllegalTransition,
    NotFound,
    TooManyAttempts,
    ValidationError,
    VerificationFailed,
)
from tawasul.identity import IN_PERSON, IdentityDocument
from tawasul.masking import scrub
from tawasul.models import (
    Appointment,
    AppointmentStatus,
    IdentityVerification,
    Language,
    MeetingMode,
    Request,
    RequestAssignment,
    RequesterCategory,
    RequestEvent,
    RequestNote,
    Role,
    User,
    VerificationStatus,
    utcnow,
)
from tawasul.notifications import SmsPreview, SmsStage, SmsTemplates, forward, notify
from tawasul.permissions import (
    RequestAction,
    RequestSituation,
    check,
    needs_override,
    require_transition,
    visible_branches,
)
from tawasul.permissions import allowed_actions as allowed_by_rule
from tawasul.ports import IdentityVerifier, VerificationOutcome
from tawasul.workflow import RequestStatus, allowed_transitions, check_transition

log = logging.getLogger(__name__)

S = RequestStatus
MAX_REASON = 500
MAX_NOTE = 4000


def actor_of(user: User) -> str:
    """How a user appears in the audit trail."""
    return f"user:{user.id}"


def load_request(session: Session, user: User, request_id: int) -> Request:
    """Return a request the user may see.

    Args:
        session: the unit of work (only read).
        user: the member of staff asking; only admins see every branch.
        request_id: the request.

    Returns:
        The request.

    Raises:
        NotFound: no such request, or one of a branch the user does not see (the same answer,
            so that ids of other branches cannot be probed).
    """
    request = session.get(Request, request_id)
    branches = visible_branches(user)
    if request is None or (branches is not None and request.branch not in branches):
        raise NotFound("no such request")
    return request


# A list page reads what its rows need with these, built once: building a statement anew was
# half of what each cost (the page's ids are bound at execution, expanded into the IN list).
_PAGE_IDS: BindParameter[list[int]] = bindparam("request_ids", expanding=True)
_ASSIGNEES_OF = select(RequestAssignment).where(RequestAssignment.request_id.in_(_PAGE_IDS))
_WITH_CODE = (
    select(IdentityVerification.request_id)
    .where(IdentityVerification.request_id.in_(_PAGE_IDS))
    .distinct()
)
_CHECKS_OF = (
    select(IdentityVerification)
    .where(IdentityVerification.request_id.in_(_PAGE_IDS))
    .order_by(IdentityVerification.id)
)


@dataclass(frozen=True)
class RequestChanges:
    """The fields of a request an agent may edit; status, branch and reference never are."""

    target_official: str | None = None
    meeting_mode: MeetingMode | None = None
    language: Language | None = None
    category: RequesterCategory | None = None


class Casework:
    """The request workflow as agents and supervisors drive it."""

    def __init__(
        self,
        book: AppointmentBook,
        verifier: IdentityVerifier,
        clock: Callable[[], datetime] = utcnow,
        templates: SmsTemplates | None = None,
    ) -> None:
        self._book = book
        self._verifier = verifier
        self._templates = templates or SmsTemplates.load()
        self._clock = clock

    # -- reading -------------------------------------------------------------------------

    def get(self, session: Session, user: User, request_id: int) -> Request:
        """Return one request the user may see (see :func:`load_request`).

        Args:
            session: the unit of work (only read).
            user: the member of staff asking.
            request_id: the request.

        Returns:
            The request.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
        """
        return load_request(session, user, request_id)

    def events(self, session: Session, user: User, request_id: int) -> list[RequestEvent]:
        """The request's audit trail, oldest first.

        Args:
            session: the unit of work (only read).
            user: the member of staff asking.
            request_id: the request.

        Returns:
            Every ``RequestEvent`` of the request, in the order they were written.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
        """
        request = load_request(session, user, request_id)
        return list(
            session.scalars(
                select(RequestEvent)
                .where(RequestEvent.request_id == request.id)
                .order_by(RequestEvent.id)
            )
        )

    def notes(self, session: Session, user: User, request_id: int) -> list[RequestNote]:
        """The request's follow-up notes, oldest first.

        Args:
            session: the unit of work (only read).
            user: the member of staff asking.
            request_id: the request.

        Returns:
            Every note of the request, in the order they were written.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
        """
        request = load_request(session, user, request_id)
        return list(
            session.scalars(
                select(RequestNote)
                .where(RequestNote.request_id == request.id)
                .order_by(RequestNote.id)
            )
        )

    def assignee(self, session: Session, request_id: int) -> RequestAssignment | None:
        """Who works the request now, if anyone.

        Args:
            session: the unit of work (only read).
            request_id: the request (its visibility is the caller's to check).

        Returns:
            The request's assignment, or None when it is in the shared queue.
        """
        return session.get(RequestAssignment, request_id)

    def appointment(self, session: Session, request_id: int) -> Appointment | None:
        """The request's current appointment, if it has one.

        Args:
            session: the unit of work (only read).
            request_id: the request (its visibility is the caller's to check).

        Returns:
            The appointment that still holds a place, or None.
        """
        return self._book.current(session, request_id)

    def assignees(
        self, session: Session, request_ids: Collection[int]
    ) -> dict[int, RequestAssignment]:
        """Who works each of the requests now: one query for a page of them.

        Args:
            session: the unit of work (only read).
            request_ids: the requests of the page (their visibility is the caller's to check).

        Returns:
            The assignment of each assigned request by request id (unassigned ones are absent).
        """
        if not request_ids:
            return {}
        return {
            assignment.request_id: assignment
            for assignment in session.scalars(_ASSIGNEES_OF, {"request_ids": sorted(request_ids)})
        }

    def appointments(
        self, session: Session, request_ids: Collection[int]
    ) -> dict[int, Appointment]:
        """Each request's current appointment, with its slot: one query for a page of them.

        Args:
            session: the unit of work (only read).
            request_ids: the requests of the page (their visibility is the caller's to check).

        Returns:
            The appointment that holds a place, by request id (requests without one are absent).
        """
        return self._book.current_of(session, request_ids)

    def identity_checks(
        self, session: Session, request_ids: Collection[int]
    ) -> dict[int, IdentityVerification]:
        """The check that verified each request's requester, if one did (the latest): one
        query for a page of requests.

        Args:
            session: the unit of work (only read).
            request_ids: the requests (their visibility is the caller's to check).

        Returns:
            The verified check (provider ``sms``, ``in_person``, ``portal``...) by request id.
        """
        return self.identity_states(session, request_ids)[1]

    def identity_states(
        self, session: Session, request_ids: Collection[int]
    ) -> tuple[set[int], dict[int, IdentityVerification]]:
        """Which of the requests had an identity check started, and the check that verified
        each (the latest, as :meth:`identity_checks`): one query for a page of requests, which
        :meth:`situations` takes (``code_sent``) instead of asking again.

        Args:
            session: the unit of work (only read).
            request_ids: the requests (their visibility is the caller's to check).

        Returns:
            ``(ids of the requests with a check started, the verified check by request id)``.
        """
        started: set[int] = set()
        verified: dict[int, IdentityVerification] = {}
        if not request_ids:
            return started, verified
        for found in session.scalars(_CHECKS_OF, {"request_ids": sorted(request_ids)}):
            started.add(found.request_id)
            if found.status == VerificationStatus.VERIFIED:
                verified[found.request_id] = found
        return started, verified

    def situations(
        self,
        session: Session,
        requests: Collection[Request],
        assignees: dict[int, RequestAssignment] | None = None,
        appointments: dict[int, Appointment] | None = None,
        code_sent: Collection[int] | None = None,
        holders: Mapping[int, int | None] | None = None,
    ) -> dict[int, RequestSituation]:
        """What the rules of :mod:`tawasul.permissions` need to know of each request now, in
        a fixed number of queries.

        Args:
            session: the unit of work (only read).
            requests: requests the caller may see.
            assignees: their assignments, when the caller has read them already.
            appointments: their current appointments, likewise.
            code_sent: the ids of those with an identity check started, likewise
                (:meth:`identity_states`).
            holders: who works each request (user id, None: nobody), when the caller has it
                instead of ``assignees``: ``Request.assigned_to`` as read with a page, which
                holds the same user as the request's assignment.

        Returns:
            Each request's status, branch, holder, appointment start, number and code state,
            and the clock, by request id.
        """
        ids = [request.id for request in requests]
        if holders is None:
            if assignees is None:
                assignees = self.assignees(session, ids)
            holders = {ident: found.user_id for ident, found in assignees.items()}
        if appointments is None:
            appointments = self.appointments(session, ids)
        if code_sent is not None:
            with_code = set(code_sent)
        elif ids:
            with_code = set(session.scalars(_WITH_CODE, {"request_ids": sorted(ids)}))
        else:
            with_code = set()
        now = self._clock()
        found: dict[int, RequestSituation] = {}
        for request in requests:
            appointment = appointments.get(request.id)
            found[request.id] = RequestSituation(
                status=request.status,
                branch=request.branch,
                holder_id=holders.get(request.id),
                appointment_starts_at=appointment.slot.starts_at if appointment else None,
                has_callback_number=bool(request.callback_number),
                code_sent=request.id in with_code,
                now=now,
            )
        return found

    def situation(self, session: Session, request: Request) -> RequestSituation:
        """What the rules need to know of one request now (see :meth:`situations`)."""
        return self.situations(session, [request])[request.id]

    def allowed_actions(
        self, session: Session, user: User, request: Request
    ) -> tuple[list[RequestAction], list[RequestAction]]:
        """The actions the user may take on the request now, and those of them that need an
        override reason (a supervisor before the appointment's start).

        The use cases enforce the same rule (:func:`tawasul.permissions.refusal`).

        Args:
            session: the unit of work (only read).
            user: the member of staff asking.
            request: a request the user may see.

        Returns:
            ``(allowed, needing an override reason)``, both in
            :class:`~tawasul.permissions.RequestAction` order.
        """
        situation = self.situation(session, request)
        return allowed_by_rule(user, situation), needs_override(user, situation)

    # -- editing ------------------------------------------------------------------------

    def update(
        self, session: Session, user: User, request_id: int, changes: RequestChanges
    ) -> Request:
        """Edit the editable details of a request; the audit names the fields, not the values.

        Args:
            session: committed on return when something changed.
            user: the member of staff acting; their role and branch are checked.
            request_id: the request.
            changes: the fields to set; None leaves a field as it is.

        Returns:
            The request, edited.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            IllegalTransition: the request is closed (no status can follow its status).
            ValidationError: a target official name that is empty or too long.
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.EDIT)
        changed: list[str] = []
        if changes.target_official is not None:
            name = changes.target_official.strip()
            if not 1 <= len(name) <= 64:
                raise ValidationError("target_official", "1-64 characters")
            request.target_official = name
            changed.append("target_official")
        for field in ("meeting_mode", "language", "category"):
            value = getattr(changes, field)
            if value is not None:
                setattr(request, field, value)
                changed.append(field)
        if changed:
            request.updated_at = self._clock()
            self._event(session, user, request, "updated", details={"fields": changed})
            session.commit()
        return request

    def add_note(self, session: Session, user: User, request_id: int, text: str) -> RequestNote:
        """Add a follow-up note (allowed in every status, closed requests included).

        Args:
            session: committed on return.
            user: the member of staff acting; their role and branch are checked.
            request_id: the request.
            text: the note; it may hold personal data, so the audit row keeps only its id.

        Returns:
            The stored note.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            ValidationError: an empty note, or one over 4000 characters.
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.NOTE)
        text = text.strip()
        if not 1 <= len(text) <= MAX_NOTE:
            raise ValidationError("text", f"1-{MAX_NOTE} characters")
        note = RequestNote(
            request_id=request.id, author_id=user.id, text=text, created_at=self._clock()
        )
        session.add(note)
        session.flush()
        self._event(session, user, request, "note", details={"note_id": note.id})
        session.commit()
        return note

    def reassign(self, session: Session, user: User, request_id: int, to_user_id: int) -> Request:
        """Give the request to another member of staff of its branch (supervisors).

        Args:
            session: committed on return.
            user: the supervisor (or admin) who reassigns.
            request_id: the request.
            to_user_id: the new assignee.

        Returns:
            The request, assigned to ``to_user_id``.

        Raises:
            Forbidden: the user is an agent.
            NotFound: no such request, or one of a branch the user does not see.
            ValidationError: the new assignee is unknown, inactive, of another branch or an admin.
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.REASSIGN)
        target = session.get(User, to_user_id)
        if target is None or not target.is_active or target.branch != request.branch:
            raise ValidationError("user_id", "an active member of the request's branch")
        if target.role == Role.ADMIN:
            raise ValidationError("user_id", "requests are worked by agents and supervisors")
        previous = self._assign(session, request, target, by=user)
        details = {"from_user": previous, "to_user": target.id}
        self._event(session, user, request, "reassigned", details=details)
        session.commit()
        return request

    # -- the workflow ---------------------------------------------------------------------

    def claim(
        self, session: Session, user: User, request_id: int, category: RequesterCategory
    ) -> Request:
        """Take a received request into review, classified; the requester is told by SMS.

        Args:
            session: committed on return.
            user: the agent who claims it (and is assigned to it).
            request_id: the request.
            category: the classification (man, woman, company) the figures are reported by.

        Returns:
            The request, in review.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            IllegalTransition: the request is not received (or another user moved it first).
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.CLAIM)
        self._move(session, user, request, S.IN_REVIEW, "claimed", {"category": category.value})
        request.category = category
        self._assign(session, request, user, by=user)
        notify(session, request, SmsStage.IN_REVIEW, {"reference": request.reference_number})
        session.commit()
        return request

    def release(self, session: Session, user: User, request_id: int) -> Request:
        """Hand a request in review back to the shared queue (status received); nobody is assigned.

        Args:
            session: committed on return.
            user: the member of staff acting; their role and branch are checked.
            request_id: the request.

        Returns:
            The request, received again.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            IllegalTransition: the request is not in review (or another user moved it first).
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.RELEASE)
        self._move(session, user, request, S.RECEIVED, "released")
        # Through the request (the move read its stored assignee): the tally of "mine" follows.
        request.assigned_to = None
        session.execute(delete(RequestAssignment).where(RequestAssignment.request_id == request.id))
        session.commit()
        return request

    def start_verification(
        self, session: Session, user: User, request_id: int
    ) -> IdentityVerification:
        """Start an identity check with the configured provider (e.g. text a one-time code).

        A new check replaces any pending one: the old code stops working.

        Args:
            session: committed on return.
            user: the member of staff acting; their role and branch are checked.
            request_id: the request.

        Returns:
            The new, pending verification.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            IllegalTransition: the request is not in review (only then is identity checked).
            ValidationError: the provider lacks what it needs (e.g. no callback number).
            DeliveryError: the provider cannot be reached (``tawasul.ports``).
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.SEND_CODE)
        # A new check replaces any open one: the old code stops working.
        session.execute(
            update(IdentityVerification)
            .where(
                IdentityVerification.request_id == request.id,
                IdentityVerification.status == VerificationStatus.PENDING,
            )
            .values(status=VerificationStatus.FAILED)
            .execution_options(synchronize_session=False)
        )
        verification = self._verifier.start(session, request, user.id)
        self._event(
            session,
            user,
            request,
            "verification_started",
            details={"provider": verification.provider, "verification_id": verification.id},
        )
        session.commit()
        return verification

    def verify_identity(
        self, session: Session, user: User, request_id: int, answer: str
    ) -> Request:
        """Check the requester's answer; on success the request is identity-verified.

        Args:
            session: committed on return, also when the answer is refused.
            user: the member of staff acting; their role and branch are checked.
            request_id: the request.
            answer: what the requester gave (the one-time code they read back).

        Returns:
            The request, identity-verified.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            VerificationFailed: no check was started, or a wrong answer (with attempts left),
                pending, expired or refused; the attempt is recorded before this is raised.
            TooManyAttempts: the attempts are used up: start a new verification.
            IllegalTransition: the request is not in review.
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.CHECK_CODE)
        verification = session.scalar(
            select(IdentityVerification)
            .where(IdentityVerification.request_id == request.id)
            .order_by(IdentityVerification.id.desc())
        )
        if verification is None:
            raise VerificationFailed("no verification was started")
        outcome = self._verifier.check(session, verification, answer)
        details: dict[str, Any] = {
            "provider": verification.provider,
            "verification_id": verification.id,
            "outcome": outcome.value,
        }
        if outcome != VerificationOutcome.VERIFIED:
            self._event(session, user, request, "verification_failed", details=details)
            session.commit()
            if outcome == VerificationOutcome.EXHAUSTED:
                raise TooManyAttempts("too many wrong answers: start a new verification", 0)
            left = max(verification.max_attempts - verification.attempts, 0)
            raise VerificationFailed(outcome.value, left)
        self._move(session, user, request, S.IDENTITY_VERIFIED, "identity_verified", details)
        session.commit()
        return request

    def verify_in_person(
        self, session: Session, user: User, request_id: int, document: IdentityDocument
    ) -> Request:
        """Mark the requester's identity verified by an agent who saw their document.

        The check is stored like any other (provider ``in_person``, who started it, when it
        was verified) and audited with the kind of document, never its number; a code still
        waiting for its answer stops working.

        Args:
            session: committed on return.
            user: the member of staff who saw the document; role, branch and hold are checked.
            request_id: the request.
            document: the kind of document seen.

        Returns:
            The request, identity-verified.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            Forbidden: the user's role, or another member of staff holds the request.
            IllegalTransition: the request is not in review (or another user moved it first).
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.VERIFY_IN_PERSON)
        now = self._clock()
        session.execute(
            update(IdentityVerification)
            .where(
                IdentityVerification.request_id == request.id,
                IdentityVerification.status == VerificationStatus.PENDING,
            )
            .values(status=VerificationStatus.FAILED)
            .execution_options(synchronize_session=False)
        )
        verification = IdentityVerification(
            request_id=request.id,
            provider=IN_PERSON,
            status=VerificationStatus.VERIFIED,
            attempts=0,
            max_attempts=0,
            expires_at=now,
            started_by=user.id,
            created_at=now,
            verified_at=now,
        )
        session.add(verification)
        session.flush()
        details = {
            "provider": IN_PERSON,
            "method": IN_PERSON,
            "document": document.value,
            "verification_id": verification.id,
        }
        self._move(session, user, request, S.IDENTITY_VERIFIED, "identity_verified", details)
        session.commit()
        return request

    def approve(self, session: Session, user: User, request_id: int) -> Request:
        """Approve a verified request (supervisors).

        The requester's "approved" SMS names the appointment, so it is sent when the meeting is
        booked (:meth:`schedule`), not here.

        Args:
            session: committed on return.
            user: the member of staff acting; their role and branch are checked.
            request_id: the request.

        Returns:
            The request, approved.

        Raises:
            Forbidden: the user is an agent (deciding is for supervisors).
            NotFound: no such request, or one of a branch the user does not see.
            IllegalTransition: the request is not identity-verified (or another user moved it
                first).
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.APPROVE)
        self._move(session, user, request, S.APPROVED, "approved")
        session.commit()
        return request

    def reject(self, session: Session, user: User, request_id: int, reason: str) -> Request:
        """Reject a request in review or verified, with a reason the requester is sent
        (supervisors).

        Verification is not needed first: a rejection grants nothing, and the one reason about
        identity ("we could not verify who you are") is given precisely when it failed. The
        SMS carries only the reference and the reason (numbers and IDs in it are masked).

        Args:
            session: committed on return.
            user: the member of staff acting; their role and branch are checked.
            request_id: the request.
            reason: why, in words the requester reads (phone numbers and IDs are masked).

        Returns:
            The request, rejected.

        Raises:
            Forbidden: the user is an agent (deciding is for supervisors).
            NotFound: no such request, or one of a branch the user does not see.
            IllegalTransition: the request is neither in review nor identity-verified (or
                another user moved it first).
            ValidationError: no reason, a reason over 500 characters, or one that makes the
                requester's SMS longer than its part budget (``notifications.PART_BUDGETS``).
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.REJECT)
        reason = scrub(reason.strip())
        if not 1 <= len(reason) <= MAX_REASON:
            raise ValidationError("reason", f"1-{MAX_REASON} characters")
        params = {"reference": request.reference_number, "reason": reason}
        if request.callback_number:
            self._templates.check_budget(SmsStage.REJECTED, request.language, params, "reason")
        self._move(session, user, request, S.REJECTED, "rejected", {"reason": reason})
        notify(session, request, SmsStage.REJECTED, params)
        session.commit()
        return request

    def rejection_sms(
        self, session: Session, user: User, request_id: int, reason: str
    ) -> SmsPreview:
        """The SMS a rejection with ``reason`` would send the requester, with its part count
        and budget (what :meth:`reject` enforces), for the agent writing the reason.

        Raises:
            NotFound: no such request, or one the user may not see.
        """
        request = load_request(session, user, request_id)
        params = {"reference": request.reference_number, "reason": scrub(reason.strip())}
        return self._templates.preview(SmsStage.REJECTED, request.language, params)

    def schedule(self, session: Session, user: User, request_id: int, slot_id: int) -> Appointment:
        """Book (or move) the meeting of an approved request into a slot of its branch.

        The requester is sent the "approved" SMS with the date and place (the video link for a
        video call), and a reminder is owed for the day before.

        Args:
            session: committed on return.
            user: the member of staff acting; their role and branch are checked.
            request_id: the request.
            slot_id: the slot of the request's branch to book.

        Returns:
            The new appointment, with its slot.

        Raises:
            NotFound: no such request (as for :func:`load_request`), or no such slot in the
                request's branch.
            ValidationError: the slot has started already.
            Conflict: the slot is full, or the request is booked in it already.
            IllegalTransition: the request is neither approved nor scheduled (or another user
                moved it first).
        """
        request = load_request(session, user, request_id)
        kind = "rescheduled" if request.status == S.SCHEDULED else "scheduled"
        self._guard(session, user, request, RequestAction.SCHEDULE)
        appointment = self._book.book(session, request, slot_id, user.id)
        self._move(
            session,
            user,
            request,
            S.SCHEDULED,
            kind,
            {"appointment_id": appointment.id, "slot_id": slot_id},
        )
        # Codes, not names: the SMS names the branch in the requester's language when sent.
        params = {
            "reference": request.reference_number,
            "appointment": self._book.local_text(appointment.slot.starts_at),
            "branch": appointment.slot.branch,
            "meeting_link": appointment.meeting_link,
        }
        notify(session, request, SmsStage.APPROVED, params)
        due = self._book.reminder_time(appointment)
        if due is not None:
            reminder = notify(session, request, SmsStage.REMINDER, params, available_at=due)
            appointment.reminder_outbox_id = reminder.id if reminder else None
        session.commit()
        return appointment

    def complete(
        self, session: Session, user: User, request_id: int, override_reason: str | None = None
    ) -> Request:
        """Close a scheduled request as held; the requester is thanked by SMS.

        Not before the appointment's start, unless a supervisor overrides with a reason.

        Args:
            session: committed on return.
            user: the member of staff acting; their role, branch and hold are checked.
            request_id: the request.
            override_reason: a supervisor's reason to close before the start (audited).

        Returns:
            The request, completed (its appointment attended).

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            Forbidden: the user's role, or another member of staff holds the request.
            IllegalTransition: the request is not scheduled (or another user moved it first).
            AppointmentNotStarted: before the start, without a supervisor's override.
            ValidationError: an override reason that is blank or over 500 characters.
        """
        request = load_request(session, user, request_id)
        self._guard_start(session, user, request, RequestAction.COMPLETE, override_reason)
        self._move(session, user, request, S.COMPLETED, "completed")
        self._end_appointment(session, request, AppointmentStatus.ATTENDED)
        notify(session, request, SmsStage.COMPLETED, {"reference": request.reference_number})
        session.commit()
        return request

    def no_show(
        self, session: Session, user: User, request_id: int, override_reason: str | None = None
    ) -> Request:
        """Close a scheduled request whose requester did not come.

        Not before the appointment's start, unless a supervisor overrides with a reason.

        Args:
            session: committed on return.
            user: the member of staff acting; their role, branch and hold are checked.
            request_id: the request.
            override_reason: a supervisor's reason to close before the start (audited).

        Returns:
            The request, closed as a no-show.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            Forbidden: the user's role, or another member of staff holds the request.
            IllegalTransition: the request is not scheduled (or another user moved it first).
            AppointmentNotStarted: before the start, without a supervisor's override.
            ValidationError: an override reason that is blank or over 500 characters.
        """
        request = load_request(session, user, request_id)
        self._guard_start(session, user, request, RequestAction.NO_SHOW, override_reason)
        self._move(session, user, request, S.NO_SHOW, "no_show")
        self._end_appointment(session, request, AppointmentStatus.MISSED)
        session.commit()
        return request

    def cancel(self, session: Session, user: User, request_id: int, reason: str = "") -> Request:
        """Cancel an open request; its appointment, if any, gives its place back.

        Args:
            session: committed on return.
            user: the member of staff acting; their role and branch are checked.
            request_id: the request.
            reason: optional, at most 500 characters (phone numbers and IDs are masked).

        Returns:
            The request, cancelled.

        Raises:
            NotFound: no such request, or one of a branch the user does not see.
            IllegalTransition: the request is not open (or another user moved it first).
            ValidationError: a reason over 500 characters.
        """
        request = load_request(session, user, request_id)
        self._guard(session, user, request, RequestAction.CANCEL)
        reason = scrub(reason.strip())
        if len(reason) > MAX_REASON:
            raise ValidationError("reason", f"at most {MAX_REASON} characters")
        details = {"reason": reason} if reason else {}
        self._move(session, user, request, S.CANCELLED, "cancelled", details)
        self._end_appointment(session, request, AppointmentStatus.CANCELLED)
        session.commit()
        return request

    # -- helpers --------------------------------------------------------------------------

    def _guard(
        self,
        session: Session,
        user: User,
        request: Request,
        action: RequestAction,
        override: bool = False,
    ) -> RequestSituation:
        """Raise what the one rule (:func:`tawasul.permissions.refusal`) refuses."""
        situation = self.situation(session, request)
        check(user, action, situation, override)
        return situation

    def _guard_start(
        self,
        session: Session,
        user: User,
        request: Request,
        action: RequestAction,
        override_reason: str | None,
    ) -> None:
        """Guard Complete / No-show, auditing a supervisor's override of the start rule."""
        reason = None
        if override_reason is not None:
            reason = scrub(override_reason.strip())
            if not 1 <= len(reason) <= MAX_REASON:
                raise ValidationError("override_reason", f"1-{MAX_REASON} characters")
        situation = self._guard(session, user, request, action, override=reason is not None)
        starts_at = situation.appointment_starts_at
        if reason is not None and starts_at is not None and situation.now < starts_at:
            # Only an override that was needed is one: after the start the reason is moot.
            self._event(
                session,
                user,
                request,
                "appointment_start_overridden",
                details={
                    "action": action.value,
                    "reason": reason,
                    "starts_at": starts_at.isoformat(),
                },
            )

    def _move(
        self,
        session: Session,
        user: User,
        request: Request,
        target: RequestStatus,
        kind: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Check role and workflow, then move the request, with its audit event and forwarding.

        The UPDATE is conditional on the status read: of two agents acting at once, the second
        finds the status changed and gets the illegal transition from the new status.
        """
        require_transition(user, target)
        current = request.status
        check_transition(current, target)
        now = self._clock()
        stored = session.execute(
            update(Request)
            .where(Request.id == request.id, Request.status == current)
            .values(status=target, updated_at=now)
            .returning(Request.assigned_to)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if stored is None:
            session.rollback()
            session.refresh(request)
            raise IllegalTransition(
                request.status.value, target.value, allowed_transitions(request.status)
            )
        # The assignee as stored, read under the row lock this UPDATE holds: the tally of
        # "mine" moves the request from whoever works it now, even if a reassignment committed
        # after the request was loaded (PostgreSQL's read committed).
        set_committed_value(request, "assigned_to", stored.assigned_to)
        request.status = target
        request.updated_at = now
        self._event(session, user, request, kind, current, target, details)
        forward(session, request)
        log.info("request %s: %s -> %s by %s", request.id, current, target, actor_of(user))

    def _event(
        self,
        session: Session,
        user: User,
        request: Request,
        kind: str,
        from_status: RequestStatus | None = None,
        to_status: RequestStatus | None = None,
        details: dict[str, Any] | None = None,
    ) -> RequestEvent:
        return record_event(
            session,
            request.id,
            kind,
            actor=actor_of(user),
            at=self._clock(),
            from_status=from_status,
            to_status=to_status,
            details=details,
        )

    def _assign(self, session: Session, request: Request, to: User, by: User) -> int | None:
        """Give the request to ``to``; returns who worked it before (None: nobody).

        The request's row is locked and its assignee read as stored first: two supervisors
        reassigning at once are serialised, and the tally of "mine" moves the request from the
        assignee it really had (PostgreSQL; SQLite's writers are serialised already).
        """
        session.refresh(request, ["assigned_to"], with_for_update=True)
        assignment = session.get(RequestAssignment, request.id, populate_existing=True)
        previous = assignment.user_id if assignment is not None else None
        if assignment is None:
            assignment = RequestAssignment(request_id=request.id)
            session.add(assignment)
        assignment.user_id = to.id
        assignment.assigned_by = by.id
        assignment.assigned_at = self._clock()
        request.assigned_to = to.id
        return previous

    def _end_appointment(
        self, session: Session, request: Request, status: AppointmentStatus
    ) -> None:
        appointment = self._book.current(session, request.id)
        if appointment is not None:
            self._book.release(session, appointment, status)
