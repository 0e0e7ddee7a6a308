"""The work that comes to a member of staff: the views of the request list, and when each
request falls due.

A view is a fixed question asked of the list: an agent's "new work of the branch" (requests
received and not yet taken, the oldest first), a supervisor's "awaiting my decision" (requests
whose requester's identity is verified, ready to approve or reject, the oldest first), and
anyone's "mine". Each role lands on the view of the work it does first (:func:`default_view`).

When a request falls due comes from the centre's own promise (docs/metrics.md: "every request
forwarded the same day"):

- **forwarding cut-off**: a request not yet acknowledged by the ministry's system is due at the
  cut-off of its same-day window (``Settings.forward_cutoff``, 20:00 local by default): the
  cut-off of the day it arrived, or of the next day when it arrived after that day's cut-off.
  This is the window of the same-day forwarding rate and of the late-forwarding report.
- **service target**: once forwarded, an open request is due ``Settings.request_target_h``
  hours (24 by default) after it arrived: the same-day promise carried to the decision, with
  the night for a request that arrived near the cut-off.

A due moment is "near" within ``DUE_NEAR_S`` of it and "overdue" from it on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tawasul.config import Settings
from tawasul.errors import Forbidden
from tawasul.forwarding import cutoff_moment
from tawasul.models import Request, Role, User
from tawasul.permissions import Action, may
from tawasul.workflow import OPEN_STATUSES, RequestStatus

DUE_NEAR_S = 60 * 60
"""A request is "near" its due moment in the last hour before it: time to take it up today."""


class WorkView(StrEnum):
    """The fixed questions the request list answers."""

    NEW_WORK = "new_work"
    """Received in the user's branches and not yet taken: an agent's first view."""
    AWAITING_DECISION = "awaiting_decision"
    """Identity verified, ready to approve or reject: a supervisor's first view."""
    MINE = "mine"
    """The requests the user works now."""
    ALL = "all"
    """Every request the user may see, newest first (the plain list)."""


VIEW_STATUSES: dict[WorkView, tuple[RequestStatus, ...]] = {
    WorkView.NEW_WORK: (RequestStatus.RECEIVED,),
    WorkView.AWAITING_DECISION: (RequestStatus.IDENTITY_VERIFIED,),
    WorkView.MINE: (),
    WorkView.ALL: (),
}
"""The statuses each view lists (none: any status)."""

OLDEST_FIRST = frozenset({WorkView.NEW_WORK, WorkView.AWAITING_DECISION})
"""Views of work waiting to be done: whoever waited longest comes first."""

VIEW_ACTION: dict[WorkView, Action] = {
    WorkView.NEW_WORK: Action.WORK_REQUEST,
    WorkView.AWAITING_DECISION: Action.DECIDE,
    WorkView.MINE: Action.WORK_REQUEST,
    WorkView.ALL: Action.WORK_REQUEST,
}
"""What the role must be allowed to do for the view to make sense to it."""


def views_of(role: Role) -> list[WorkView]:
    """The views a role may open, in the order the console offers them."""
    return [view for view in WorkView if may(role, VIEW_ACTION[view])]


def default_view(role: Role) -> WorkView:
    """The view a role lands on: supervisors and admins decide first, agents take new work."""
    return WorkView.AWAITING_DECISION if may(role, Action.DECIDE) else WorkView.NEW_WORK


def check_view(user: User, view: WorkView) -> None:
    """Refuse a view the user's role has no use for.

    Raises:
        Forbidden: e.g. an agent asking for the requests awaiting a decision.
    """
    if not may(user.role, VIEW_ACTION[view]):
        raise Forbidden(f"a {user.role.value} may not open the {view.value} view")


class DueKind(StrEnum):
    """What a request is due for."""

    FORWARDING_CUTOFF = "forwarding_cutoff"
    SERVICE_TARGET = "service_target"


class DueState(StrEnum):
    """How close the due moment is."""

    OK = "ok"
    NEAR = "near"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Due:
    """When a request falls due, for what, and how close that is now."""

    kind: DueKind
    at: datetime
    state: DueState


@dataclass(frozen=True)
class DuePolicy:
    """The centre's due moments: the forwarding cut-off and the service target."""

    zone: ZoneInfo
    forward_cutoff: str
    """Local "HH:MM", ``Settings.forward_cutoff``."""
    target: timedelta
    """``Settings.request_target_h``."""
    near: timedelta = timedelta(seconds=DUE_NEAR_S)

    @classmethod
    def from_settings(cls, settings: Settings) -> DuePolicy:
        """The policy of the configured centre (time zone, cut-off, target)."""
        return cls(
            zone=ZoneInfo(settings.timezone),
            forward_cutoff=settings.forward_cutoff,
            target=timedelta(hours=settings.request_target_h),
        )

    def window_cutoff(self, created_at: datetime) -> datetime:
        """The cut-off of the same-day window a request arriving at ``created_at`` is in."""
        local = created_at.astimezone(self.zone)
        cutoff = cutoff_moment(local.date(), self.forward_cutoff, self.zone)
        if local >= cutoff:
            cutoff = cutoff_moment(local.date() + timedelta(days=1), self.forward_cutoff, self.zone)
        return cutoff

    def due(self, request: Request, now: datetime) -> Due | None:
        """When the request falls due, or None for a request that is closed.

        Args:
            request: any request.
            now: the present moment (aware).

        Returns:
            The forwarding cut-off while the ministry has not acknowledged the request, the
            service target after; None once the request is closed (nothing more is owed).
        """
        if request.status not in OPEN_STATUSES:
            return None
        if request.forwarded_at is None:
            kind, at = DueKind.FORWARDING_CUTOFF, self.window_cutoff(request.created_at)
        else:
            kind, at = DueKind.SERVICE_TARGET, request.created_at + self.target
        if now >= at:
            state = DueState.OVERDUE
        elif at - now <= self.near:
            state = DueState.NEAR
        else:
            state = DueState.OK
        return Due(kind, at.astimezone(self.zone), state)


def age_s(request: Request, now: datetime) -> int:
    """Whole seconds since the request arrived (never negative)."""
    return max(0, int((now - request.created_at).total_seconds()))
