"""Database engines and sessions, SQLite (embedded default) or PostgreSQL (production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "tawasul_read_only"
"""The execution option of a connection whose transactions only read (see :func:`read_only`)."""
_WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})


class ReadOnlyTransaction(RuntimeError):
    """A statement that writes was sent in a transaction begun as a read."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a call writes; busy_timeout makes concurrent writers wait
    # instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for the URL, with the SQLite settings concurrent calls need."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {})["timeout"] = SQLITE_BUSY_TIMEOUT_MS / 1000
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers the write lock until the first write, which lets
        # two writers deadlock (a read transaction that then writes cannot wait for the lock:
        # SQLite answers "busy" at once); emit BEGIN IMMEDIATE ourselves so that writers queue
        # in the busy timeout. A transaction begun as a read (read_only) takes no write lock:
        # in WAL mode it neither waits for writers nor makes them wait.
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "before_cursor_execute", _refuse_writes_in_reads)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # One FastAGI server carries hundreds of calls, each touching the database briefly between
    # two AGI commands: a wait for a pooled connection there is a caller's lost keypress.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 40)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "before_cursor_execute", _refuse_writes_in_reads)
    return engine


def _sqlite_begin(conn: Connection) -> None:
    reading = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN DEFERRED" if reading else "BEGIN IMMEDIATE")


def _refuse_writes_in_reads(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    # A read transaction that writes would take the write lock late, and fail at once when
    # another writer holds it or has committed since the read began: refuse it always, so
    # that the mistake shows in every test instead of under load.
    if conn.get_execution_options().get(READ_ONLY, False):
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb in _WRITE_VERBS:
            raise ReadOnlyTransaction(f"a read-only transaction sent {verb}")


def read_only(session: Session) -> None:
    """Begin the session's next transactions as reads that take no write lock.

    On SQLite a transaction normally opens with ``BEGIN IMMEDIATE`` (writers queue for the
    lock from their first statement); a read-only one opens with a deferred ``BEGIN``, which
    in WAL mode neither waits for a writer nor makes one wait. Statements that write are
    refused in it (:class:`ReadOnlyTransaction`). PostgreSQL's reads never block writers: the
    option changes nothing there but the refusal.

    Args:
        session: a session with no transaction under way (its next one is a read).

    Raises:
        RuntimeError: the session is inside a transaction already.
    """
    if session.in_transaction():
        raise RuntimeError("read_only() must be called before the transaction begins")
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if not engine.get_execution_options().get(READ_ONLY, False):
        # An option engine shares the pool and the listeners of the engine it wraps.
        session.bind = engine.execution_options(**{READ_ONLY: True})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory every process uses: one session per call or per HTTP request."""
    return sessionmaker(engine, expire_on_commit=False)


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database the URL names unless it exists (the role needs
    CREATEDB); used by the tests and the benchmarks, each with databases of their own."""
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).scalar()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


def empty_postgres_database(url: str) -> None:
    """Make the PostgreSQL database the URL names exist and hold nothing (a test's or a
    benchmark's start: the caller migrates it)."""
    ensure_postgres_database(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
