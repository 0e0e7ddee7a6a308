"""Who may do what: the role rules of the request workflow and of account management."""

from __future__ import annotations

from enum import StrEnum

from tawasul.errors import Forbidden
from tawasul.models import Role, User
from tawasul.workflow import RequestStatus

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
        raise Forbidden(f"a {user.role.value} may not {action.value.replace('_', ' ')}")


def require_transition(user: User, target: RequestStatus) -> None:
    """Raise :class:`Forbidden` unless the user's role may move a request into ``target``."""
    require(user, TRANSITION_ACTION[target])


def visible_branches(user: User) -> frozenset[str] | None:
    """The branches whose requests the user sees; None means every branch (admins)."""
    if may(user.role, Action.ALL_BRANCHES):
        return None
    return frozenset({user.branch})
