"""Who may do what: the role rules of the request workflow and of account management."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tawasul.errors import (
    AppointmentNotStarted,
    Forbidden,
    IllegalTransition,
    TawasulError,
    ValidationError,
    VerificationFailed,
)
from tawasul.models import Role, User
from tawasul.workflow import OPEN_STATUSES, RequestStatus, check_transition

RANK: dict[Role, int] = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}
"""Each role may do everything the roles below it may."""


class Action(StrEnum):
    """What a user may be allowed to do to a request or to the centre's set-up."""

    WORK_REQUEST = "work_request"
    """Claim, classify, verify, schedule, complete, note, call: the agent's daily work."""
    DECIDE = "decide"
    """Approve or reject a request."""
    REASSIGN = "reassign"
    MANAGE_CALENDAR = "manage_calendar"
    MANAGE_USERS = "manage_users"
    ALL_BRANCHES = "all_branches"
    VIEW_FIGURES = "view_figures"
    """The call-centre and request figures, exports and reports."""


REQUIRED_ROLE: dict[Action, Role] = {
    Action.WORK_REQUEST: Role.AGENT,
    Action.DECIDE: Role.SUPERVISOR,
    Action.REASSIGN: Role.SUPERVISOR,
    Action.MANAGE_CALENDAR: Role.SUPERVISOR,
    Action.MANAGE_USERS: Role.ADMIN,
    Action.ALL_BRANCHES: Role.ADMIN,
    Action.VIEW_FIGURES: Role.SUPERVISOR,
}

S = RequestStatus

TRANSITION_ACTION: dict[RequestStatus, Action] = {
    S.RECEIVED: Action.WORK_REQUEST,
    S.IN_REVIEW: Action.WORK_REQUEST,
    S.IDENTITY_VERIFIED: Action.WORK_REQUEST,
    S.APPROVED: Action.DECIDE,
    S.REJECTED: Action.DECIDE,
    S.SCHEDULED: Action.WORK_REQUEST,
    S.COMPLETED: Action.WORK_REQUEST,
    S.NO_SHOW: Action.WORK_REQUEST,
    S.CANCELLED: Action.WORK_REQUEST,
}
"""What moving a request into each status takes: deciding is for supervisors."""


def may(role: Role, action: Action) -> bool:
    """Whether a role may perform an action."""
    return RANK[role] >= RANK[REQUIRED_ROLE[action]]


def require(user: User, action: Action) -> None:
    """Raise :class:`Forbidden` unless the user's role allows the action."""
    if not may(user.role, action):
        raise Forbidden(
            f"a {user.role.value} may not {action.value.replace('_', ' ')}",
            reason="role",
            details={"required_role": REQUIRED_ROLE[action].value},
        )


def require_transition(user: User, target: RequestStatus) -> None:
    """Raise :class:`Forbidden` unless the user's role may move a request into ``target``."""
    require(user, TRANSITION_ACTION[target])


def visible_branches(user: User) -> frozenset[str] | None:
    """The branches whose requests the user sees; None means every branch (admins)."""
    if may(user.role, Action.ALL_BRANCHES):
        return None
    return frozenset({user.branch})


# -- the actions on one request, and who may take them now -----------------------------------


class RequestAction(StrEnum):
    """One thing the console can do to a request; each is one API call.

    These names are API contract: the request's ``allowed_actions`` lists them.
    """

    CLAIM = "claim"
    RELEASE = "release"
    REASSIGN = "reassign"
    SEND_CODE = "send_code"
    CHECK_CODE = "check_code"
    VERIFY_IN_PERSON = "verify_in_person"
    APPROVE = "approve"
    REJECT = "reject"
    SCHEDULE = "schedule"
    COMPLETE = "complete"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    EDIT = "edit"
    NOTE = "note"
    CALL_BACK = "call_back"


A = RequestAction

ROLE_OF: dict[RequestAction, Action] = {
    **{action: Action.WORK_REQUEST for action in RequestAction},
    A.APPROVE: Action.DECIDE,
    A.REJECT: Action.DECIDE,
    A.REASSIGN: Action.REASSIGN,
}
"""What each request action takes of the user's role."""

TARGET_OF: dict[RequestAction, RequestStatus] = {
    A.CLAIM: S.IN_REVIEW,
    A.RELEASE: S.RECEIVED,
    A.SEND_CODE: S.IDENTITY_VERIFIED,
    A.CHECK_CODE: S.IDENTITY_VERIFIED,
    A.VERIFY_IN_PERSON: S.IDENTITY_VERIFIED,
    A.APPROVE: S.APPROVED,
    A.REJECT: S.REJECTED,
    A.SCHEDULE: S.SCHEDULED,
    A.COMPLETE: S.COMPLETED,
    A.NO_SHOW: S.NO_SHOW,
    A.CANCEL: S.CANCELLED,
}
"""The status each workflow action moves a request into (the workflow must allow the move)."""

CLAIMANT_ONLY = frozenset(
    {
        A.RELEASE,
        A.SEND_CODE,
        A.CHECK_CODE,
        A.VERIFY_IN_PERSON,
        A.SCHEDULE,
        A.COMPLETE,
        A.NO_SHOW,
        A.CANCEL,
        A.EDIT,
    }
)
"""The actions that, on a request someone holds, only its holder or a supervisor may take.

Notes and calls stay open to the branch: a requester who phones in reaches whoever answers.
Claiming is from the shared queue (status received): of two agents claiming at once, the
workflow's conditional move refuses the second.
"""

AFTER_START = frozenset({A.COMPLETE, A.NO_SHOW})
"""The actions that only make sense once the appointment has started (supervisors override)."""


@dataclass(frozen=True)
class RequestSituation:
    """What the rules need to know of a request, read once per decision."""

    status: RequestStatus
    branch: str
    holder_id: int | None
    """Who holds the request now (its assignee: the claimant, or whom it was reassigned to)."""
    appointment_starts_at: datetime | None
    has_callback_number: bool
    code_sent: bool
    """An identity check was started (its answer may still be right, wrong or too late)."""
    now: datetime


def oversees(user: User, branch: str) -> bool:
    """Whether the user is a supervisor of the branch, or an admin."""
    if may(user.role, Action.ALL_BRANCHES):
        return True
    return may(user.role, Action.REASSIGN) and user.branch == branch


def refusal(
    user: User, action: RequestAction, situation: RequestSituation, override: bool = False
) -> TawasulError | None:
    """Why the user may not take the action on the request now; None when they may.

    This is the one rule: the use cases raise what it returns, and the request's
    ``allowed_actions`` lists the actions for which it returns None.

    Args:
        user: the member of staff (the request is one of a branch they see).
        action: what they want to do.
        situation: the request as it stands.
        override: a supervisor's override of the appointment-start rule (with a reason the
            caller audits); ignored for anyone else.

    Returns:
        The error to raise: :class:`Forbidden` (role, or ``claimed_by_other``),
        :class:`IllegalTransition`, :class:`AppointmentNotStarted`,
        :class:`VerificationFailed` (no code was sent) or :class:`ValidationError` (no number
        to call back); None when the action is allowed.
    """
    role_action = ROLE_OF[action]
    if not may(user.role, role_action):
        return Forbidden(
            f"a {user.role.value} may not {action.value.replace('_', ' ')}",
            reason="role",
            details={"required_role": REQUIRED_ROLE[role_action].value},
        )
    if (
        action in CLAIMANT_ONLY
        and situation.holder_id is not None
        and situation.holder_id != user.id
        and not oversees(user, situation.branch)
    ):
        return Forbidden(
            "another member of staff holds this request",
            reason="claimed_by_other",
            details={"claimed_by": situation.holder_id},
        )
    target = TARGET_OF.get(action)
    if target is not None:
        try:
            check_transition(situation.status, target)
        except IllegalTransition as exc:
            return exc
    elif action in (A.EDIT, A.REASSIGN) and situation.status not in OPEN_STATUSES:
        return IllegalTransition(situation.status.value, situation.status.value, [])
    if action == A.CHECK_CODE and not situation.code_sent:
        return VerificationFailed("no verification was started")
    if action == A.CALL_BACK:
        if not situation.has_callback_number:
            return ValidationError("callback_number", "the request has no number to call")
        if not user.extension:
            # The API also takes an extension in the body; the page offers the profile's.
            return ValidationError("extension", "no softphone extension in the profile")
    starts_at = situation.appointment_starts_at
    if action in AFTER_START and starts_at is not None and situation.now < starts_at:
        if not (override and may(user.role, Action.DECIDE)):
            return AppointmentNotStarted(starts_at, may_override=may(user.role, Action.DECIDE))
    return None


def check(
    user: User, action: RequestAction, situation: RequestSituation, override: bool = False
) -> None:
    """Raise what :func:`refusal` returns, if anything."""
    refused = refusal(user, action, situation, override)
    if refused is not None:
        raise refused


def allowed_actions(user: User, situation: RequestSituation) -> list[RequestAction]:
    """The actions the user may take on the request now, in :class:`RequestAction` order.

    A supervisor is offered Complete and No-show before the appointment's start too (they
    may override, giving a reason); :func:`needs_override` names those.
    """
    return [
        action
        for action in RequestAction
        if refusal(user, action, situation, override=True) is None
    ]


def needs_override(user: User, situation: RequestSituation) -> list[RequestAction]:
    """The allowed actions the user may take now only with an override reason."""
    return [
        action
        for action in allowed_actions(user, situation)
        if refusal(user, action, situation, override=False) is not None
    ]


_DecisionKey = tuple[Role, bool, bool, RequestStatus, bool | None, bool | None, bool, bool]
_DECIDED: dict[_DecisionKey, tuple[tuple[RequestAction, ...], tuple[RequestAction, ...]]] = {}
_DECIDED_MAX = 4096
"""A few hundred keys exist (roles, statuses, holders, appointments...); the bound is a guard."""


def _decision_key(user: User, situation: RequestSituation) -> _DecisionKey:
    """Every fact of the user and the situation that :func:`refusal` decides by, and no more.

    The holder counts only as nobody, the user or someone else; the branch only as the user's
    own or not; the extension only as set or not; the appointment only as none, not started or
    started. A change to :func:`refusal` that reads anything else must add it here
    (``tests/unit/test_request_permissions.py`` compares both over every combination).
    """
    holder = situation.holder_id
    starts_at = situation.appointment_starts_at
    return (
        user.role,
        bool(user.extension),
        user.branch == situation.branch,
        situation.status,
        None if holder is None else holder == user.id,
        None if starts_at is None else situation.now < starts_at,
        situation.has_callback_number,
        situation.code_sent,
    )


def actions_now(
    user: User, situation: RequestSituation
) -> tuple[tuple[RequestAction, ...], tuple[RequestAction, ...]]:
    """:func:`allowed_actions` and :func:`needs_override` at once, remembered by what decides
    them (:func:`_decision_key`).

    A list page asks them of every row, and asking :func:`refusal` of every action of every row
    was the largest part of its CPU; the rows of all pages share a few hundred situations.

    Returns:
        ``(allowed, needing an override reason)``, each in :class:`RequestAction` order.
    """
    key = _decision_key(user, situation)
    found = _DECIDED.get(key)
    if found is None:
        allowed = tuple(allowed_actions(user, situation))
        override = tuple(
            action for action in allowed if refusal(user, action, situation) is not None
        )
        found = (allowed, override)
        if len(_DECIDED) < _DECIDED_MAX:
            _DECIDED[key] = found
    return found
