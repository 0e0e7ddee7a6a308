"""SQLite's writers queue in the write gate (``tawasul.db.WriteGate``): woken in turn, across
processes, and the gate is always given back."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tawasul.db import (
    FALLBACK_AUTOCHECKPOINT_PAGES,
    WRITER_LOCK_SUFFIX,
    WalCheckpointer,
    make_engine,
    make_session_factory,
    read_only,
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def _lock_file(tmp_path: Path) -> Path:
    return tmp_path / f"gate.db{WRITER_LOCK_SUFFIX}"


def _free(lock: Path) -> bool:
    """Whether another process (another open file description) could take the gate now."""
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing gives back a lock taken here
    return True


def _write(engine: Engine, n: int = 1) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})


def test_a_write_waits_for_the_gate_held_elsewhere_and_goes_once_it_is_given_back(
    engine: Engine, tmp_path: Path
) -> None:
    _write(engine)  # creates the lock file
    other = os.open(_lock_file(tmp_path), os.O_RDONLY)
    fcntl.flock(other, fcntl.LOCK_EX)  # another process's writer holds the gate
    done = threading.Event()
    writer = threading.Thread(target=lambda: (_write(engine, 2), done.set()))
    writer.start()
    try:
        # SQLite's own lock is free: only the gate holds the write back.
        assert not done.wait(0.3)
    finally:
        os.close(other)  # the holder ends (or dies): the kernel gives the gate back
    assert done.wait(10)
    writer.join()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 2


def test_a_read_passes_while_the_gate_is_held(engine: Engine, tmp_path: Path) -> None:
    _write(engine)
    other = os.open(_lock_file(tmp_path), os.O_RDONLY)
    fcntl.flock(other, fcntl.LOCK_EX)
    try:
        with make_session_factory(engine)() as session:
            read_only(session)
            assert session.scalar(text("SELECT count(*) FROM t")) == 1
            session.commit()
    finally:
        os.close(other)


def test_the_gate_is_held_for_the_transaction_and_given_back_however_it_ends(
    engine: Engine, tmp_path: Path
) -> None:
    lock = _lock_file(tmp_path)
    with engine.connect() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert not _free(lock)
        connection.commit()
        assert _free(lock)
        connection.execute(text("INSERT INTO t VALUES (2)"))
        connection.rollback()
        assert _free(lock)
        connection.execute(text("INSERT INTO t VALUES (3)"))
    # Closed with its transaction open (rolled back): given back too.
    assert _free(lock)
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (4)"))
        raise RuntimeError("the unit of work failed")
    assert _free(lock)
    with make_session_factory(engine)() as session:
        session.execute(text("INSERT INTO t VALUES (5)"))
        assert not _free(lock)
    assert _free(lock)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1]


def test_writers_of_one_process_take_turns_and_lose_nothing(engine: Engine) -> None:
    def writes() -> None:
        for n in range(50):
            _write(engine, n)

    threads = [threading.Thread(target=writes) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 400


def test_a_lock_file_that_cannot_be_opened_leaves_the_waiting_to_sqlite(tmp_path: Path) -> None:
    # Its name taken by a link to nowhere: it cannot be created (as a file another user left,
    # unreadable, cannot be opened).
    _lock_file(tmp_path).symlink_to(tmp_path / "missing" / "lock")
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (n INTEGER)"))
        _write(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        engine.dispose()


def _fill(engine: Engine, rows: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO t (n) VALUES (:n)"), [{"n": n * 1_000_003} for n in range(rows)]
        )


def test_commits_leave_the_log_to_the_background_checkpoint(engine: Engine, tmp_path: Path) -> None:
    # The engine's connection of the fixture (opened before) is replaced too.
    checkpointer = WalCheckpointer(engine)
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages == FALLBACK_AUTOCHECKPOINT_PAGES
    database = tmp_path / "gate.db"
    before = database.stat().st_size
    _fill(engine, 400_000)  # past SQLite's default of 1,000 pages in the log
    assert database.stat().st_size == before  # no commit copied it into the file
    checkpointer.every_s = 0.05
    checkpointer.start()
    try:
        deadline = time.monotonic() + 10
        while database.stat().st_size == before and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        checkpointer.stop()
    assert database.stat().st_size > before
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 400_000


def test_a_checkpointer_needs_a_sqlite_file() -> None:
    with pytest.raises(ValueError):
        WalCheckpointer(make_engine("sqlite://"))
