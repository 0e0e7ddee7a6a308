"""What the console shows on a request's page: the actions open to this user now, the history
(audit trail, calls, SMS), the audited reveal of the national ID, and the screen-pop's match.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tawasul.audit import record_event
from tawasul.casework import actor_of, load_request
from tawasul.errors import NotFound, ValidationError
from tawasul.ids import normalize_saudi_mobile
from tawasul.masking import mask_national_id, mask_phone, scrub
from tawasul.models import (
    AgentCall,
    Call,
    Callback,
    CallbackStatus,
    Request,
    Requester,
    RequestEvent,
    SmsMessage,
    User,
    utcnow,
)
from tawasul.permissions import Action, RequestAction, may, require
from tawasul.pii import PiiProtector
from tawasul.workflow import OPEN_STATUSES, RequestStatus

log = logging.getLogger(__name__)

S = RequestStatus


class CaseAction(StrEnum):
    """What the request page may offer; each maps to one API call."""

    CLAIM = "claim"
    RELEASE = "release"
    VERIFY = "verify"
    APPROVE = "approve"
    REJECT = "reject"
    SCHEDULE = "schedule"
    COMPLETE = "complete"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    REASSIGN = "reassign"
    NOTE = "note"
    CALL = "call"
    REVEAL_NATIONAL_ID = "reveal_national_id"


LEGACY_NAMES: dict[RequestAction, CaseAction] = {
    RequestAction.CLAIM: CaseAction.CLAIM,
    RequestAction.RELEASE: CaseAction.RELEASE,
    RequestAction.SEND_CODE: CaseAction.VERIFY,
    RequestAction.APPROVE: CaseAction.APPROVE,
    RequestAction.REJECT: CaseAction.REJECT,
    RequestAction.SCHEDULE: CaseAction.SCHEDULE,
    RequestAction.COMPLETE: CaseAction.COMPLETE,
    RequestAction.NO_SHOW: CaseAction.NO_SHOW,
    RequestAction.CANCEL: CaseAction.CANCEL,
    RequestAction.REASSIGN: CaseAction.REASSIGN,
    RequestAction.NOTE: CaseAction.NOTE,
    RequestAction.CALL_BACK: CaseAction.CALL,
}
"""The casefile's older action names for the request's ``allowed_actions``."""


def available_actions(
    user: User, request: Request, allowed: Collection[RequestAction]
) -> list[CaseAction]:
    """The casefile's actions, in page order: ``allowed`` (what
    :func:`tawasul.permissions.allowed_actions` gives) in the older names, and the reveal.

    Args:
        user: the signed-in user.
        request: a request the user may see.
        allowed: the request actions the user may take now.

    Returns:
        The actions; one the rules refuse now is absent.
    """
    found = {LEGACY_NAMES[action] for action in allowed if action in LEGACY_NAMES}
    if may(user.role, Action.WORK_REQUEST) and request.requester_id is not None:
        found.add(CaseAction.REVEAL_NATIONAL_ID)
    return [action for action in CaseAction if action in found]


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a request's history, whatever its source."""

    at: datetime
    source: str
    """``audit``, ``call`` (the IVR call), ``click_to_call`` or ``sms``."""
    kind: str
    actor: str | None
    status: str | None
    details: dict[str, object]


class Casefile:
    """The request page's reads that the workflow itself does not need."""

    def __init__(self, pii: PiiProtector, clock: Callable[[], datetime] = utcnow) -> None:
        self._pii = pii
        self._clock = clock

    def history(self, session: Session, user: User, request_id: int) -> list[HistoryEntry]:
        """The request's audit trail, calls and SMS, oldest first; numbers masked.

        Raises:
            NotFound: as for :func:`tawasul.casework.load_request`.
        """
        request = load_request(session, user, request_id)
        entries: list[HistoryEntry] = []
        for event in session.scalars(
            select(RequestEvent).where(RequestEvent.request_id == request.id)
        ):
            entries.append(
                HistoryEntry(
                    at=event.at,
                    source="audit",
                    kind=event.kind,
                    actor=event.actor,
                    status=event.to_status.value if event.to_status else None,
                    details=_scrubbed(event.details),
                )
            )
        for call in session.scalars(select(Call).where(Call.request_id == request.id)):
            entries.append(
                HistoryEntry(
                    at=call.started_at,
                    source="call",
                    kind="ivr_call",
                    actor=None,
                    status=call.outcome.value,
                    details={
                        "caller": mask_phone(call.caller_id),
                        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
                    },
                )
            )
        for placed in session.scalars(select(AgentCall).where(AgentCall.request_id == request.id)):
            entries.append(
                HistoryEntry(
                    at=placed.started_at,
                    source="click_to_call",
                    kind="call_back",
                    actor=f"user:{placed.user_id}",
                    status=(
                        "ringing"
                        if placed.connected is None
                        else ("connected" if placed.connected else "not_connected")
                    ),
                    details={"result": placed.result},
                )
            )
        for sms in session.scalars(select(SmsMessage).where(SmsMessage.request_id == request.id)):
            entries.append(
                HistoryEntry(
                    at=sms.created_at,
                    source="sms",
                    kind=sms.template,
                    actor=None,
                    status=sms.status.value,
                    details={
                        "to": mask_phone(sms.to_number),
                        "language": sms.language.value,
                        "status_at": sms.status_at.isoformat() if sms.status_at else None,
                        "error": scrub(sms.error) if sms.error else None,
                    },
                )
            )
        entries.sort(key=lambda entry: entry.at)
        return entries

    def masked_national_id(self, session: Session, request: Request) -> str | None:
        """The requester's national ID with only its first digit shown (None: no requester)."""
        plain = self._national_id(session, request)
        return mask_national_id(plain) if plain is not None else None

    def reveal_national_id(self, session: Session, user: User, request_id: int) -> str:
        """The requester's national ID in full; the reveal is written to the audit trail.

        Raises:
            NotFound: the request is not visible, or has no requester yet (a fax not
                transcribed).
            Forbidden: the role may not work requests.
        """
        request = load_request(session, user, request_id)
        require(user, Action.WORK_REQUEST)
        plain = self._national_id(session, request)
        if plain is None:
            raise NotFound("the request has no requester yet")
        record_event(
            session, request.id, "national_id_revealed", actor=actor_of(user), at=self._clock()
        )
        session.commit()
        log.info("request %s: national ID revealed to %s", request.id, actor_of(user))
        return plain

    def _national_id(self, session: Session, request: Request) -> str | None:
        if request.requester_id is None:
            return None
        requester = session.get(Requester, request.requester_id)
        if requester is None:
            return None
        return self._pii.decrypt(requester.national_id_encrypted, "national_id")


def open_requests_of_caller(
    session: Session, caller_id: str, branches: Collection[str] | None, limit: int = 20
) -> list[Request]:
    """The open requests whose callback number is the caller's (the screen-pop's match).

    Args:
        session: a database session.
        caller_id: the number Asterisk reported (any Saudi mobile spelling).
        branches: the branches the user sees (None: all).
        limit: at most this many, newest first.

    Returns:
        The requests; none when the caller ID is not a Saudi mobile number (withheld,
        landline, foreign).
    """
    try:
        number = normalize_saudi_mobile(caller_id)
    except ValidationError:
        return []
    query = select(Request).where(
        Request.callback_number == number, Request.status.in_(sorted(OPEN_STATUSES))
    )
    if branches is not None:
        query = query.where(Request.branch.in_(sorted(branches)))
    return list(
        session.scalars(query.order_by(Request.created_at.desc(), Request.id.desc()).limit(limit))
    )


def pending_callbacks(session: Session, branches: Collection[str]) -> dict[str, int]:
    """Callbacks owed per branch: waiting for their turn or being dialled now."""
    counts = dict.fromkeys(branches, 0)
    rows = session.execute(
        select(Callback.branch, func.count(Callback.id))
        .where(
            Callback.branch.in_(sorted(branches)),
            Callback.status.in_([CallbackStatus.WAITING, CallbackStatus.DIALING]),
        )
        .group_by(Callback.branch)
    )
    for branch, count in rows:
        counts[branch] = int(count)
    return counts


def _scrubbed(details: dict[str, object]) -> dict[str, object]:
    return {
        key: scrub(value) if isinstance(value, str) else value for key, value in details.items()
    }
