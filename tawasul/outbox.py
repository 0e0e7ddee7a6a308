"""The transactional outbox: side effects written with the change that causes them.

A use case that owes someone an SMS, a forwarding or a callback calls :func:`add` inside its
own transaction; if that transaction rolls back, nothing is owed. The job queue (``jobqueue``)
moves pending rows to RQ and performs each effect once.

The relay polls for due rows, and a commit that owes one wakes it at once, each database in its
own way: on PostgreSQL the transaction sends ``NOTIFY tawasul_outbox``, which the database
delivers to the relay's ``LISTEN`` only if and when it commits; on SQLite (one box by nature)
the committing process sends a datagram, after the commit, to an abstract Unix socket named
after the database file, which the relay binds. A wake-up that is lost (no relay listening,
a full socket buffer, a listener reconnecting) costs only the wait for the next poll.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import socket
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, SessionTransaction

from tawasul.models import OutboxKind, OutboxMessage, OutboxPriority, OutboxStatus, Request, utcnow

log = logging.getLogger(__name__)

WAKE_CHANNEL = "tawasul_outbox"
"""The PostgreSQL notification channel of commits that owe an effect."""
_WAKE = "tawasul.outbox.wake"
"""Session info key: this transaction owes a wake-up (the SQLite address, or True when the
transaction has sent its NOTIFY)."""
_sender: socket.socket | None = None
_sender_lock = threading.Lock()


def wake_address(url: str | URL) -> bytes | None:
    """The abstract Unix socket address the relay of this SQLite database listens on.

    Returns:
        The address (Linux's abstract namespace: no file to clean up, no path length limit),
        or None for a database that is not a SQLite file.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = str(Path(str(parsed.database)).resolve())
    return b"\0tawasul-outbox-" + hashlib.sha256(path.encode()).hexdigest()[:32].encode()


@functools.lru_cache(maxsize=16)
def _wake_address_of(url: str) -> bytes | None:
    # Once per database, not per outbox row: resolving the path stats each of its directories.
    return wake_address(url)


def _owe_wake(session: Session) -> None:
    if session.info.get(_WAKE) is not None:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Delivered by PostgreSQL at commit, to every listener, and never for a rollback. It
        # needs no row written first: what is pending goes with the caller's next flush.
        with session.no_autoflush:
            session.execute(text(f"NOTIFY {WAKE_CHANNEL}"))
        session.info[_WAKE] = True
    else:
        address = _wake_address_of(str(bind.engine.url))
        if address is not None:
            session.info[_WAKE] = address


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    address = session.info.pop(_WAKE, None)
    if not isinstance(address, bytes):
        return
    global _sender
    try:
        with _sender_lock:
            if _sender is None:
                _sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                _sender.setblocking(False)
            _sender.sendto(b"!", address)
    except OSError as exc:
        # No relay listening (ECONNREFUSED), or its buffer full of wake-ups already: the
        # poll relays the row.
        log.debug("outbox wake-up not sent (%s); the relay's poll will find the row", exc)


@event.listens_for(Session, "after_soft_rollback")
def _forget_wake(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session.info.pop(_WAKE, None)


def add(
    session: Session,
    kind: OutboxKind,
    *,
    request: Request | None = None,
    request_id: int | None = None,
    payload: dict[str, Any] | None = None,
    available_at: datetime | None = None,
    priority: OutboxPriority = OutboxPriority.NORMAL,
    flush: bool = True,
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
        flush: False to leave the row to the caller's next flush (its commit's): one unit of
            work for the whole change instead of one per row, for a caller that needs no id.

    Returns:
        The new outbox row (flushed, so it has an id, unless ``flush`` is False).
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
    if flush:
        session.flush()
    _owe_wake(session)
    return message
