"""Database engines and sessions, SQLite (embedded default) or PostgreSQL (production)."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import UpdateBase

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "tawasul_read_only"
"""The execution option of a connection whose transactions only read (see :func:`read_only`)."""
_WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})
_Row = TypeVar("_Row")
_AT_COMMIT = "tawasul.db.at_commit"
"""Connection info key: the statements :func:`execute_last` left for the COMMIT to carry."""
_COMMIT_CARRIES = "tawasul_commit_carries_statements"
"""Set on a dialect whose commit sends :func:`execute_last`'s statements with it."""
WRITER_LOCK_SUFFIX = "-writer.lock"
"""Beside a SQLite database file, the file whose lock its writers queue on (:class:`WriteGate`)."""


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


class WriteGate:
    """The queue a SQLite database's writers wait in before ``BEGIN IMMEDIATE``.

    SQLite has one write lock per database file. A connection that finds it taken does not
    wait to be woken: its busy handler sleeps (1, 2, 5, 10 ... then 100 ms at a time) and tries
    again, however soon the lock is free. With a hundred calls' threads writing in several
    FastAGI processes, a step's ``BEGIN IMMEDIATE`` lost that race again and again: at 200
    calls in flight it waited up to 1.2 s (p99) for a lock held 1.6 ms (p50), and the caller's
    next key was lost (bench/calls.py). Here the writers wait where they are woken the moment
    the lock is given back: one thread of a process at a time (a thread lock), and one process
    at a time through ``flock`` on a file beside the database, which the kernel releases when
    its holder ends or dies. Both waits release the interpreter lock, so the other calls' steps
    run meanwhile.

    The gate only orders the waiting: SQLite's own lock still decides who writes, so a writer
    that does not use the gate (the ``sqlite3`` shell, another program) is still excluded, and
    waited for in the busy timeout as before. A thread waits at most ``timeout`` for the other
    threads of its process, then fails as SQLite would ("database is locked").
    """

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = lock_path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._holder: Any = None

    def acquire(self, dbapi_connection: Any, timeout: float) -> None:
        """Wait until this connection may begin a write transaction.

        Args:
            dbapi_connection: the DB-API connection about to send ``BEGIN IMMEDIATE``.
            timeout: seconds to wait for the other threads of this process.

        Raises:
            sqlite3.OperationalError: the other threads held the gate for ``timeout``.
        """
        if not self._threads.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked (waited for the write gate)")
        try:
            if self._fd is None:
                self._fd = self._open()
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._holder = dbapi_connection

    def _open(self) -> int:
        # Read-only is enough for flock; 0o660 lets the service's group share it.
        try:
            return os.open(self.lock_path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o660)
        except OSError as exc:
            # A lock file this user may not open (left by a command run as another user):
            # this process's writers still queue among themselves, and for the others in
            # SQLite's busy handler, as before the gate. Exclusion never depended on it.
            log.warning("write gate %s unusable (%s): writers wait in SQLite", self.lock_path, exc)
            return -1

    def release(self, dbapi_connection: Any) -> None:
        """Let the next writer in, if ``dbapi_connection`` holds the gate (else nothing)."""
        if self._holder is not dbapi_connection:
            return
        self._holder = None
        try:
            if self._fd is not None and self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_gates: dict[tuple[int, str], WriteGate] = {}
_gates_lock = threading.Lock()


def write_gate(database: str) -> WriteGate:
    """The :class:`WriteGate` of a SQLite database file, one per file in each process (the
    engines of one process share it; a forked child gets its own: a ``flock`` inherited
    through ``fork`` would be shared with the parent, not exclusive)."""
    path = Path(database).resolve()
    key = (os.getpid(), str(path))
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = WriteGate(path.with_name(path.name + WRITER_LOCK_SUFFIX))
        return gate


WAL_CHECKPOINT_EVERY_S = 1.0
"""How often :class:`WalCheckpointer` copies the write-ahead log into the database file."""
FALLBACK_AUTOCHECKPOINT_PAGES = 10_000
"""The WAL size (pages of 4 KiB) at which a committing writer still checkpoints when the
background checkpoint has not run (SQLite's default is 1,000)."""


class WalCheckpointer:
    """Copies a SQLite database's write-ahead log into the file off the writers' path.

    SQLite checkpoints by default in the connection whose COMMIT takes the log past 1,000 pages:
    that writer copies the pages and syncs the file while it still holds the write lock (and
    the :class:`WriteGate`), so every writer queued behind it waits too. With calls filing
    requests that was every second or so, the slowest commits by far (tens, under load
    hundreds of milliseconds, against a hundredth of one for the rest). Here a thread of the
    process checkpoints every ``every_s`` in PASSIVE mode, which takes no write lock and never
    waits for a writer or a reader, on a connection of its own; the engine's connections only
    checkpoint themselves past :data:`FALLBACK_AUTOCHECKPOINT_PAGES` (the thread stalled or
    stopped), so the log stays bounded either way.
    """

    def __init__(self, engine: Engine, every_s: float = WAL_CHECKPOINT_EVERY_S) -> None:
        """
        Args:
            engine: an engine on a SQLite database file, from :func:`make_engine`.
            every_s: seconds between two checkpoints.

        Raises:
            ValueError: the engine is not on a SQLite database file.
        """
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            raise ValueError("a WAL checkpointer needs a SQLite database file")
        self.path = str(Path(database).resolve())
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        event.listen(engine, "connect", _fallback_autocheckpoint)
        # Connections opened before (a migration's) keep SQLite's default: open them afresh.
        engine.dispose()

    def start(self) -> None:
        """Checkpoint every ``every_s`` in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (after the checkpoint under way, if any)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        """Copy what the log holds into the file, as far as no reader still needs it."""
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            while not self._stop.wait(self.every_s):
                try:
                    self.checkpoint(connection)
                except sqlite3.Error as exc:
                    # Busy (another process's checkpoint) or the file gone: try again next
                    # time; a writer checkpoints past the fallback size meanwhile.
                    log.debug("WAL checkpoint of %s skipped: %s", self.path, exc)
        finally:
            connection.close()


def _fallback_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_AUTOCHECKPOINT_PAGES}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for the URL, with the SQLite settings concurrent calls need."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_file = bool(parsed.database) and parsed.database != ":memory:"
        if in_file:
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {})["timeout"] = SQLITE_BUSY_TIMEOUT_MS / 1000
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers the write lock until the first write, which lets
        # two writers deadlock (a read transaction that then writes cannot wait for the lock:
        # SQLite answers "busy" at once); emit BEGIN IMMEDIATE ourselves, after the write gate
        # (WriteGate: writers woken in turn, not polling in the busy handler). A transaction
        # begun as a read (read_only) takes no write lock and passes no gate: in WAL mode it
        # neither waits for writers nor makes them wait.
        if in_file:
            _gate_writes(engine, write_gate(str(parsed.database)))
        else:
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
    if engine.dialect.driver == "psycopg":
        _carry_last_statements(engine)
    return engine


def execute_last(connection: Connection, statement: UpdateBase) -> None:
    """Execute ``statement`` in the connection's transaction, as late as it can be: with the
    COMMIT itself where the engine can send them together, else now.

    For a statement whose locks everyone else waits for (a tally row that every filing
    changes): those locks last from the statement to the end of the COMMIT. Sent on its own,
    that includes a round trip back to a Python thread that must win its interpreter lock
    again (among a FastAGI process's hundreds of call threads) before it sends COMMIT; sent
    with it (one message with psycopg, on an engine of :func:`make_engine`), the database runs
    both at once and the lock lasts only as long as PostgreSQL's own commit. Call it from the
    engine's ``commit`` event, after every other statement of the transaction: statements
    left for the COMMIT run after any sent later. Their bound values are rendered into the
    SQL (keys and counts, never personal data), and they are not seen by cursor events.

    Args:
        connection: the connection of the transaction, about to commit.
        statement: a statement that returns no rows.
    """
    if getattr(connection.dialect, _COMMIT_CARRIES, False):
        sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        connection.info.setdefault(_AT_COMMIT, []).append(str(sql))
    else:
        connection.execute(statement)


def _carry_last_statements(engine: Engine) -> None:
    """Have the engine's COMMIT carry the statements :func:`execute_last` left for it: the
    statements and COMMIT in one message, one round trip."""
    dialect = engine.dialect
    commit = dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:
        statements = dbapi_connection.info.pop(_AT_COMMIT, None)
        if not statements:
            commit(dbapi_connection)
            return
        # One simple-protocol message (statements without parameters, never prepared): the
        # database runs them and the COMMIT back to back. psycopg's pipeline mode would send
        # each statement as it is queued, and a thread preempted between two sends leaves the
        # row locked meanwhile. The engine passes the pool's proxy: psycopg's own connection
        # is inside it.
        with dbapi_connection.dbapi_connection.cursor() as cursor:
            # No parameters but an empty mapping: psycopg then reads the compiler's escaped
            # percent signs ("%%") back as "%", as it would with parameters.
            cursor.execute("; ".join([*statements, "COMMIT"]), {}, prepare=False)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    setattr(dialect, _COMMIT_CARRIES, True)

    def forget(conn: Connection) -> None:
        # Never carried into another transaction (one rolled back after they were left).
        conn.info.pop(_AT_COMMIT, None)

    event.listen(engine, "begin", forget)
    event.listen(engine, "rollback", forget)


def _sqlite_begin(conn: Connection) -> None:
    reading = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN DEFERRED" if reading else "BEGIN IMMEDIATE")


def _gate_writes(engine: Engine, gate: WriteGate) -> None:
    """Begin the engine's write transactions behind ``gate``; give it back when they end."""
    timeout = SQLITE_BUSY_TIMEOUT_MS / 1000

    def begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY, False):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        dbapi_connection = conn.connection.dbapi_connection
        gate.acquire(dbapi_connection, timeout)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.release(dbapi_connection)
            raise

    event.listen(engine, "begin", begin)
    # Given back once SQLite's lock is, after COMMIT or ROLLBACK has returned: given back just
    # before, the next writer's BEGIN IMMEDIATE would find the lock still held and sleep in the
    # busy handler (a millisecond or more for each transaction). No engine event follows a
    # commit, so the dialect's own methods are wrapped; a connection closed (SQLite rolls it
    # back) or returned to the pool holds no transaction, so never the gate either.
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback", "do_close"):
        setattr(dialect, name, _then_release(getattr(dialect, name), gate))

    def returned(dbapi_connection: Any, *_: Any) -> None:
        gate.release(dbapi_connection)

    for pool_event in ("checkin", "invalidate"):
        event.listen(engine, pool_event, returned)


def _then_release(end: Any, gate: WriteGate) -> Any:
    def ended(connection: Any) -> None:
        try:
            end(connection)
        finally:
            # The engine passes the pool's proxy, the pool the DB-API connection itself.
            gate.release(getattr(connection, "dbapi_connection", connection))

    return ended


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
    refused in it (:class:`ReadOnlyTransaction`). PostgreSQL's reads never block writers:
    there its statements run in autocommit instead, each seeing what was committed when it
    began, as each does in a READ COMMITTED transaction, without the BEGIN and ROLLBACK
    round trips around them.

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
        options: dict[str, Any] = {READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        session.bind = engine.execution_options(**options)


@contextmanager
def reading_beside(session: Session) -> Iterator[Session]:
    """A short second session on ``session``'s database whose transaction is a read.

    For a look-up in the middle of a unit of work (a phone call's): ``session`` may hold
    changes not written yet (the call's journey), which its own next query would flush in a
    write transaction (on SQLite: through the write gate, behind every other call's writes).
    The look-up runs here instead, with no write lock (:func:`read_only`), and is over when the
    block ends; what it found joins ``session`` through :func:`adopt`.

    Args:
        session: the unit of work the look-up is for; it needs no transaction open.

    Yields:
        The reading session, closed when the block ends.
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    reader = Session(engine, expire_on_commit=False)
    try:
        read_only(reader)
        yield reader
    finally:
        reader.close()


def adopt(session: Session, found: Iterable[_Row]) -> list[_Row]:
    """The rows a :func:`reading_beside` session loaded, as ``session``'s own (no SQL sent).

    A row ``session`` already holds is returned as it is there, its pending changes kept.
    """
    adopted = []
    for row in found:
        held = session.identity_map.get(inspect(row).identity_key)
        adopted.append(held if held is not None else session.merge(row, load=False))
    return adopted


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
