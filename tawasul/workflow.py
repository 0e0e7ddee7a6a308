"""The request workflow: statuses and the transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum

from tawasul.errors import IllegalTransition


class RequestStatus(StrEnum):
    """Where a request stands, from intake to its end."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    IDENTITY_VERIFIED = "identity_verified"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


S = RequestStatus

TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.RECEIVED: frozenset({S.IN_REVIEW, S.CANCELLED}),
    S.IN_REVIEW: frozenset({S.IDENTITY_VERIFIED, S.RECEIVED, S.REJECTED, S.CANCELLED}),
    S.IDENTITY_VERIFIED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.SCHEDULED, S.COMPLETED, S.NO_SHOW, S.CANCELLED}),
    S.REJECTED: frozenset(),
    S.COMPLETED: frozenset(),
    S.NO_SHOW: frozenset(),
    S.CANCELLED: frozenset(),
}
"""From each status, where a request may go next. SCHEDULED -> SCHEDULED is a reschedule."""

OPEN_STATUSES = frozenset(status for status, targets in TRANSITIONS.items() if targets)
"""Statuses a request can still leave: a requester with one of these has an open request."""


def allowed_transitions(current: RequestStatus) -> list[str]:
    """Return the statuses reachable from ``current``, sorted for stable error messages."""
    return list(_ALLOWED[current])


_ALLOWED = {
    status: tuple(sorted(target.value for target in targets))
    for status, targets in TRANSITIONS.items()
}


def check_transition(current: RequestStatus, target: RequestStatus) -> None:
    """Raise :class:`IllegalTransition` unless the workflow allows ``current`` -> ``target``."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current.value, target.value, allowed_transitions(current))
