"""The transactional outbox: side effects written with the change that causes them.

A use case that owes someone an SMS, a forwarding or a callback calls :func:`add` inside its
own transaction; if that transaction rolls back, nothing is owed. The job queue (``jobqueue``)
moves pending rows to RQ and performs each effect once.

The relay polls for due rows, and a commit that owes one wakes it at once, each database in its
own way, always after the commit (never for a rollback): on PostgreSQL the committing process
sends ``NOTIFY tawasul_outbox`` to the relay's ``LISTEN`` from a connection of its own (a
thread per process, :class:`PostgresWaker`); on SQLite (one box by nature) it sends a
datagram to an abstract Unix socket named after the database file, which the relay binds. A
wake-up that is lost (no relay listening, a full socket buffer, a listener reconnecting, a
process ended between the commit and the wake-up) costs only the wait for the next poll.

Not a ``NOTIFY`` inside the transaction that owes the effect: PostgreSQL commits a transaction
that has notified under one lock for the whole database, held through its commit record's
flush to disk, so the filings of every FastAGI process committed one at a time behind each
other's disk writes instead of sharing them (at 200 calls in flight, once the requests tally
no longer queued them, it was what their COMMITs waited for most: bench/calls.py).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, SessionTransaction

from tawasul.models import OutboxKind, OutboxMessage, OutboxPriority, OutboxStatus, Request, utcnow

log = logging.getLogger(__name__)

WAKE_CHANNEL = "tawasul_outbox"
"""The PostgreSQL notification channel of commits that owe an effect."""
_WAKE = "tawasul.outbox.wake"
"""Session info key: this transaction owes a wake-up (the SQLite address, or the PostgreSQL
database's :class:`PostgresWaker`)."""
_sender: socket.socket | None = None
_sender_lock = threading.Lock()
_wakers: dict[tuple[int, str], PostgresWaker] = {}
_wakers_lock = threading.Lock()


class PostgresWaker:
    """Sends ``NOTIFY tawasul_outbox`` for the commits of one process on one PostgreSQL
    database, after them, from a thread and a connection of its own.

    The committing thread only sets a flag: it never waits for the wake-up, and its commit
    takes no notification lock. Commits that come while a ``NOTIFY`` is under way are woken
    by the next one (the relay takes every due row in a pass). The connection commits
    without waiting for the disk (``synchronous_commit = off``): a notification is not data,
    and a crash loses only what the poll finds anyway.
    """

    def __init__(self, url: URL) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._owed = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Have the relay woken as soon as this process's waker thread can."""
        self._owed.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="outbox-waker", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        import psycopg

        connection: Any = None
        while True:
            self._owed.wait()
            self._owed.clear()
            try:
                if connection is None or connection.closed:
                    connection = psycopg.connect(self._dsn, autocommit=True)
                    connection.execute("SET synchronous_commit TO off")
                connection.execute(f"NOTIFY {WAKE_CHANNEL}")
            except Exception as exc:  # noqa: BLE001 (any failure: the poll relays the row)
                log.warning("outbox wake-up not sent (%s); the relay's poll will find the row", exc)
                if connection is not None:
                    connection.close()
                connection = None
                time.sleep(1.0)  # not a reconnection per commit while the database is away


def postgres_waker(url: str | URL) -> PostgresWaker:
    """The :class:`PostgresWaker` of a PostgreSQL database in this process (one per database;
    a forked child makes its own: threads do not survive ``fork``)."""
    parsed = make_url(url)
    key = (os.getpid(), parsed.render_as_string(hide_password=False))
    with _wakers_lock:
        waker = _wakers.get(key)
        if waker is None:
            waker = _wakers[key] = PostgresWaker(parsed)
        return waker


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
        session.info[_WAKE] = postgres_waker(bind.engine.url)
    else:
        address = _wake_address_of(str(bind.engine.url))
        if address is not None:
            session.info[_WAKE] = address


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: the transaction has not committed yet
    address = session.info.pop(_WAKE, None)
    if isinstance(address, PostgresWaker):
        address.wake()
        return
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
