"""The request audit trail: one helper that every state change of a request calls."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tawasul.models import RequestEvent
from tawasul.workflow import RequestStatus


def record_event(
    session: Session,
    request_id: int,
    kind: str,
    *,
    actor: str,
    at: datetime,
    from_status: RequestStatus | None = None,
    to_status: RequestStatus | None = None,
    details: Mapping[str, Any] | None = None,
) -> RequestEvent:
    """Add one audit row for a request to ``session`` (the caller commits).

    Args:
        session: the unit of work the change itself is in, so the change and its audit row
            commit together or not at all.
        request_id: the request the event is about.
        kind: what happened, a stable key ("created", "status_changed", "note_added", ...).
        actor: who did it: "ivr", "worker", "portal", "retention" or ``actor_of(user)``.
        at: when it happened (UTC, aware), from the service's clock.
        from_status: the status before a transition, if the event is one.
        to_status: the status after a transition, if the event is one.
        details: JSON-able facts about the event; never personal data (it is not encrypted).

    Returns:
        The added (not yet flushed) ``RequestEvent``.
    """
    event = RequestEvent(
        request_id=request_id,
        at=at,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        details=dict(details or {}),
    )
    session.add(event)
    return event
