"""The transactional outbox: side effects written with the change that causes them.

A use case that owes someone an SMS, a forwarding or a callback calls :func:`add` inside its
own transaction; if that transaction rolls back, nothing is owed. The job queue (``jobqueue``)
moves pending rows to RQ and performs each effect once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tawasul.models import OutboxKind, OutboxMessage, OutboxPriority, OutboxStatus, Request, utcnow


def add(
    session: Session,
    kind: OutboxKind,
    *,
    request: Request | None = None,
    request_id: int | None = None,
    payload: dict[str, Any] | None = None,
    available_at: datetime | None = None,
    priority: OutboxPriority = OutboxPriority.NORMAL,
) -> OutboxMessage:
    """Owe a side effect, in the caller's transaction (nothing is committed here).

    Args:
        session: the session of the change that causes the effect.
        kind: what is owed.
        request: the request it concerns, if any (flushed so its id is known).
        request_id: the same, when only the id is at hand.
        payload: ids, template keys and parameters only: never personal data.
        available_at: not before this time (default: now).
        priority: which goes first when there is a backlog (identity codes: ``URGENT``).

    Returns:
        The new outbox row (flushed, so it has an id).
    """
    if request is not None and request.id is None:
        session.flush()
    message = OutboxMessage(
        kind=kind,
        request_id=request.id if request is not None else request_id,
        payload=dict(payload or {}),
        status=OutboxStatus.PENDING,
        available_at=available_at or utcnow(),
        priority=int(priority),
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message
