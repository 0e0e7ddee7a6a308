"""What keeps the console's queries fast at any size: read transactions that take no write
lock, the requests tally, and the callback number's tail (both databases)."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from tawasul import search
from tawasul.db import ReadOnlyTransaction, read_only
from tawasul.migrate import alembic_config, upgrade
from tawasul.models import Channel, Request, RequestTally
from tawasul.tally import recount, shard_of
from tawasul.workflow import RequestStatus
from tests.helpers import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _request(n: int, branch: str = "riyadh", number: str | None = None, **kw: object) -> Request:
    return Request(
        reference_number=f"{n:010d}",
        channel=kw.pop("channel", Channel.PHONE),
        branch=branch,
        callback_number=number,
        created_at=NOW,
        updated_at=NOW,
        **kw,
    )


def _recounted(database: Database) -> dict[tuple[str, str, str], int]:
    with database.sessions() as session:
        rows = session.execute(
            select(Request.branch, Request.channel, Request.status, func.count()).group_by(
                Request.branch, Request.channel, Request.status
            )
        ).all()
    return {(b, Channel(c).value, RequestStatus(s).value): n for b, c, s, n in rows}


def _tallied(database: Database) -> dict[tuple[str, str, str], int]:
    # A count is the sum of its key's shards (tawasul.tally).
    with database.sessions() as session:
        rows = session.execute(
            select(
                RequestTally.branch,
                RequestTally.channel,
                RequestTally.status,
                func.sum(RequestTally.requests),
            ).group_by(RequestTally.branch, RequestTally.channel, RequestTally.status)
        ).all()
    return {(b, Channel(c).value, RequestStatus(s).value): n for b, c, s, n in rows if n}


# -- reads that take no write lock (SQLite) -------------------------------------------------


def test_a_long_read_does_not_hold_up_a_write(database: Database) -> None:
    with database.sessions() as session:
        session.add(_request(1))
        session.commit()
    reader = database.sessions()
    read_only(reader)
    assert reader.scalar(select(func.count()).select_from(Request)) == 1  # the read is open
    written = threading.Event()

    def write() -> None:
        with database.sessions() as session:
            session.add(_request(2))
            session.commit()
        written.set()

    writer = threading.Thread(target=write)
    started = time.monotonic()
    writer.start()
    try:
        assert written.wait(5), "the write waited for the open read"
        assert time.monotonic() - started < 5
        if database.engine.dialect.name == "sqlite":
            # The read still sees its snapshot (PostgreSQL's read committed sees the write).
            assert reader.scalar(select(func.count()).select_from(Request)) == 1
        reader.commit()
        assert reader.scalar(select(func.count()).select_from(Request)) == 2
    finally:
        reader.close()
        writer.join()


def test_a_read_only_transaction_refuses_to_write(database: Database) -> None:
    with database.sessions() as session:
        read_only(session)
        session.add(_request(1))
        with pytest.raises(ReadOnlyTransaction):
            session.commit()
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 0


def test_writes_still_queue_for_the_lock_and_lose_no_update(tmp_path: Path) -> None:
    # Read-modify-write without SELECT FOR UPDATE: exact only because writers are serialised
    # from their first statement (BEGIN IMMEDIATE), which read_only() must not have changed.
    from tawasul.db import make_engine, make_session_factory

    engine = make_engine(f"sqlite:///{tmp_path / 'serial.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions() as session:
        session.add(
            RequestTally(
                branch="riyadh", channel=Channel.PHONE, status=RequestStatus.RECEIVED, requests=0
            )
        )
        session.commit()
    threads, rounds = 6, 25

    def bump() -> None:
        for _ in range(rounds):
            with sessions() as session:
                row = session.get(
                    RequestTally, ("riyadh", Channel.PHONE, RequestStatus.RECEIVED, 0)
                )
                assert row is not None
                time.sleep(random.random() / 1000)
                row.requests += 1
                session.commit()
            # a concurrent reader, as the API is
            with sessions() as reading:
                read_only(reading)
                reading.scalar(select(func.count()).select_from(RequestTally))

    workers = [threading.Thread(target=bump) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with sessions() as session:
        row = session.get(RequestTally, ("riyadh", Channel.PHONE, RequestStatus.RECEIVED, 0))
        assert row is not None and row.requests == threads * rounds
    engine.dispose()


# -- the tally --------------------------------------------------------------------------------


def test_the_tally_follows_every_insert_move_and_delete(database: Database) -> None:
    with database.sessions() as session:
        session.add_all([_request(1), _request(2, channel=Channel.FAX), _request(3, "jeddah")])
        session.commit()
        first = session.scalars(
            select(Request).where(Request.reference_number == f"{1:010d}")
        ).one()
        # The workflow's own way: a conditional UPDATE, then the attribute set on the object.
        session.execute(
            update(Request)
            .where(Request.id == first.id, Request.status == RequestStatus.RECEIVED)
            .values(status=RequestStatus.IN_REVIEW)
            .execution_options(synchronize_session=False)
        )
        first.status = RequestStatus.IN_REVIEW
        session.commit()
        third = session.scalars(select(Request).where(Request.branch == "jeddah")).one()
        session.delete(third)
        session.commit()
    assert (
        _tallied(database)
        == _recounted(database)
        == {
            ("riyadh", "phone", "in_review"): 1,
            ("riyadh", "fax", "received"): 1,
        }
    )
    with database.sessions() as session:
        counted = search.counts(session, {"riyadh"}, search.RequestFilter())
        assert counted["in_review"] == 1 and counted["received"] == 1
        assert sum(counted.values()) == 2
        by_channel = search.counts(session, None, search.RequestFilter(channel=Channel.FAX))
        assert by_channel["received"] == 1 and sum(by_channel.values()) == 1


def test_a_rolled_back_change_leaves_the_tally_as_it_was(database: Database) -> None:
    with database.sessions() as session:
        session.add(_request(1))
        session.flush()
        session.rollback()
    assert _tallied(database) == {}


def test_an_open_transaction_locks_no_tally_row_before_its_commit(database: Database) -> None:
    # Every filing of a branch changes the same tally row: a row written at the filing's
    # first flush and locked until its COMMIT queued the filings of every FastAGI process
    # behind one another (PostgreSQL at 200 calls in flight, bench/calls.py). SQLite locks the
    # whole file for a writer from BEGIN IMMEDIATE, so only PostgreSQL can show it.
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers exclude each other whatever they change")
    with database.sessions() as session:
        session.add(_request(1))
        session.commit()
    filing = database.sessions()
    try:
        filing.add(_request(2))
        filing.flush()  # the request is written, its transaction still open
        with database.engine.connect() as other:
            other.execute(sa.text("SET LOCAL lock_timeout = '500ms'"))
            bumped = other.execute(
                update(RequestTally)
                .where(
                    RequestTally.branch == "riyadh",
                    RequestTally.channel == Channel.PHONE,
                    RequestTally.status == RequestStatus.RECEIVED,
                )
                .values(requests=RequestTally.requests + 0)
            )
            assert bumped.rowcount == 1  # type: ignore[attr-defined]
            other.commit()
        filing.commit()
    finally:
        filing.close()
    assert _tallied(database) == _recounted(database) == {("riyadh", "phone", "received"): 2}


def test_filings_on_two_shards_do_not_wait_for_each_other(database: Database) -> None:
    # Every phone filing of a branch adds to the same (branch, phone, received) count: kept
    # in one row, each filing's commit waited for the row lock of the one before it through
    # its WAL flush (PostgreSQL, several FastAGI processes: bench/calls.py). Only PostgreSQL
    # locks rows; SQLite's writers exclude each other anyway.
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers exclude each other whatever they change")
    with database.sessions() as session:
        session.add(_request(1))
        session.commit()
    with database.engine.connect() as holder, database.engine.connect() as filer:
        held = shard_of(holder)
        assert shard_of(filer) != held  # two connections of one process: two shards
        # A filing that has written its delta and not yet committed (a commit in its WAL
        # flush): written here as the engine writes it at COMMIT, so that it stays open.
        statement = pg_insert(RequestTally).values(
            branch="riyadh",
            channel=Channel.PHONE,
            status=RequestStatus.RECEIVED,
            shard=held,
            requests=1,
        )
        holder.execute(
            statement.on_conflict_do_update(
                index_elements=["branch", "channel", "status", "shard"],
                set_={"requests": RequestTally.requests + statement.excluded.requests},
            )
        )
        try:
            with Session(bind=filer) as filing:
                filing.execute(sa.text("SET LOCAL lock_timeout = '500ms'"))
                filing.add(_request(2))
                filing.commit()  # fails with "lock timeout" if it waits for the holder
        finally:
            holder.rollback()
    assert _tallied(database) == _recounted(database) == {("riyadh", "phone", "received"): 2}


def test_counts_sum_every_shard_even_one_below_zero(database: Database) -> None:
    # Filings and moves through several connections (on PostgreSQL each writes its own
    # shard), so a request filed through one and moved through another leaves a negative
    # row behind: counts must stay exact all the same.
    connections = [database.engine.connect() for _ in range(3)]
    try:
        sessions = [Session(bind=connection) for connection in connections]
        for n, session in enumerate(sessions):
            session.add_all([_request(10 * n + 1), _request(10 * n + 2, "jeddah")])
            session.commit()
        # The first connection moves the requests the two others filed in riyadh: its shard
        # counts one received there and takes two away.
        moving = sessions[0]
        for filed_elsewhere in moving.scalars(
            select(Request).where(Request.reference_number.in_([f"{11:010d}", f"{21:010d}"]))
        ):
            filed_elsewhere.status = RequestStatus.IN_REVIEW
        moving.commit()
        for session in sessions:
            session.close()
        # and what a recount left in shard 0 beside deltas netting nothing over two shards
        connections[0].execute(
            sa.insert(RequestTally),
            [
                {
                    "branch": "riyadh",
                    "channel": "phone",
                    "status": "completed",
                    "shard": 0,
                    "requests": 0,
                },
                {
                    "branch": "riyadh",
                    "channel": "phone",
                    "status": "completed",
                    "shard": 9,
                    "requests": 2,
                },
                {
                    "branch": "riyadh",
                    "channel": "phone",
                    "status": "completed",
                    "shard": 10,
                    "requests": -2,
                },
            ],
        )
        connections[0].commit()
    finally:
        for connection in connections:
            connection.close()
    with database.sessions() as session:
        rows = session.execute(select(RequestTally.shard, RequestTally.requests)).all()
        if database.engine.dialect.name == "postgresql":
            assert len({shard for shard, _ in rows}) >= 3
            assert any(requests < 0 for shard, requests in rows if shard != 10)
        counted = search.counts(session, {"riyadh"}, search.RequestFilter())
        assert counted["received"] == 1 and counted["in_review"] == 2
        assert counted["completed"] == 0 and sum(counted.values()) == 3
        jeddah = search.counts(session, {"jeddah"}, search.RequestFilter(channel=Channel.PHONE))
        assert jeddah["received"] == 3 and sum(jeddah.values()) == 3
    assert (
        _tallied(database)
        == _recounted(database)
        == {
            ("riyadh", "phone", "received"): 1,
            ("riyadh", "phone", "in_review"): 2,
            ("jeddah", "phone", "received"): 3,
        }
    )


def test_the_tally_counts_what_savepoints_keep_over_several_flushes(database: Database) -> None:
    with database.sessions() as session:
        session.add(_request(1))
        session.flush()
        with session.begin_nested():  # released: counted
            session.add(_request(2, "jeddah"))
            session.flush()
            session.add(_request(3, "jeddah"))
        rolled_back = session.begin_nested()
        session.add(_request(4, "dammam"))
        session.flush()
        inner = session.begin_nested()  # released into the savepoint rolled back after it
        session.add(_request(5, "dammam"))
        inner.commit()
        rolled_back.rollback()
        failed = session.begin_nested()
        session.add(_request(3, "mecca"))  # the reference already taken: the flush fails
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()
        failed.rollback()
        first = session.scalars(
            select(Request).where(Request.reference_number == f"{1:010d}")
        ).one()
        first.status = RequestStatus.IN_REVIEW
        session.flush()
        first.branch = "jeddah"  # a second change of the same request, in a later flush
        session.commit()
    assert (
        _tallied(database)
        == _recounted(database)
        == {("jeddah", "phone", "received"): 2, ("jeddah", "phone", "in_review"): 1}
    )


def test_the_tally_counts_a_branch_whatever_its_name(database: Database) -> None:
    # PostgreSQL sends the tally's change with the COMMIT, its values written into the SQL.
    with database.sessions() as session:
        session.add_all([_request(1, "al-'ula %s"), _request(2, "100%% ready")])
        session.commit()
    assert (
        _tallied(database)
        == _recounted(database)
        == {("al-'ula %s", "phone", "received"): 1, ("100%% ready", "phone", "received"): 1}
    )


def test_the_tally_stays_exact_under_concurrent_changes(database: Database) -> None:
    statuses = [RequestStatus.IN_REVIEW, RequestStatus.RECEIVED, RequestStatus.CANCELLED]
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        rng = random.Random(worker)
        try:
            for n in range(15):
                with database.sessions() as session:
                    session.add(_request(worker * 1000 + n, rng.choice(["riyadh", "jeddah"])))
                    session.commit()
                with database.sessions() as session:
                    mine = session.scalars(
                        select(Request)
                        .where(Request.status != RequestStatus.CANCELLED)
                        .order_by(func.random())
                        .limit(1)
                    ).first()
                    if mine is None:
                        continue
                    # The workflow's move (Casework._move): an UPDATE conditional on the
                    # status read, then the attribute; a move that lost the race is undone.
                    target = rng.choice(statuses)
                    moved = session.execute(
                        update(Request)
                        .where(Request.id == mine.id, Request.status == mine.status)
                        .values(status=target)
                        .execution_options(synchronize_session=False)
                    )
                    if moved.rowcount != 1:  # type: ignore[attr-defined]
                        session.rollback()
                        continue
                    mine.status = target
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    assert _tallied(database) == _recounted(database)
    assert sum(_tallied(database).values()) == 90


def test_the_migration_counts_and_tails_the_requests_already_filed(database: Database) -> None:
    engine = database.engine
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")  # before the tally and callback_tail
    request = sa.table(
        "request",
        *(
            sa.column(name, sa.String)
            for name in (
                "reference_number",
                "channel",
                "status",
                "branch",
                "callback_number",
                "language",
            )
        ),
        sa.column("is_partial", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    rows = [
        ("0000000001", "phone", "received", "riyadh", "+966501234567"),
        ("0000000002", "phone", "received", "riyadh", None),
        ("0000000003", "fax", "completed", "jeddah", "+966551110987"),
    ]
    with engine.begin() as connection:
        for reference, channel, status, branch, number in rows:
            connection.execute(
                request.insert().values(
                    reference_number=reference,
                    channel=channel,
                    status=status,
                    branch=branch,
                    callback_number=number,
                    language="ar",
                    is_partial=False,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    upgrade(engine)
    assert (
        _tallied(database)
        == _recounted(database)
        == {
            ("riyadh", "phone", "received"): 2,
            ("jeddah", "fax", "completed"): 1,
        }
    )
    with engine.connect() as connection:
        tails = dict(
            connection.execute(sa.text("SELECT reference_number, callback_tail FROM request")).all()
        )
    assert tails == {"0000000001": "7654", "0000000002": None, "0000000003": "7890"}


def test_recount_rebuilds_the_tally(database: Database) -> None:
    with database.sessions() as session:
        session.add_all([_request(1), _request(2)])
        session.commit()
    with database.engine.begin() as connection:
        connection.execute(sa.delete(RequestTally))
        recount(connection)
    assert _tallied(database) == {("riyadh", "phone", "received"): 2}


# -- the last digits ------------------------------------------------------------------------


def test_the_last_digits_are_found_by_the_tail_whoever_set_the_number(database: Database) -> None:
    with database.sessions() as session:
        session.add_all(
            [
                _request(1, number="+966501234567"),
                _request(2, number="+966509994567"),
                _request(3, number="+966501230567"),
                _request(4),
            ]
        )
        session.commit()
        later = session.scalars(select(Request).where(Request.callback_number.is_(None))).one()
        later.callback_number = "+966507774567"  # set after filing, as the phone menu does
        session.commit()

        def found(tail: str) -> set[str]:
            page = search.search(session, {"riyadh"}, search.RequestFilter(phone_tail=tail))
            return {item.reference_number for item in page.items}

        assert found("4567") == {f"{n:010d}" for n in (1, 2, 4)}
        assert found("567") == {f"{n:010d}" for n in (1, 2, 3, 4)}
        assert found("0567") == {f"{3:010d}"}
        assert found("1234") == set()
        erased = session.get(Request, later.id)
        assert erased is not None
        erased.callback_number = None  # retention's erasure
        session.commit()
        assert found("4567") == {f"{n:010d}" for n in (1, 2)}
        assert erased.callback_tail is None


def test_the_last_digits_are_read_from_the_tail_index_page_by_page(
    database: Database,
) -> None:
    stamps = [datetime(2026, 11, day, 9, 0, tzinfo=UTC) for day in (3, 1, 2, 1)]
    with database.sessions() as session:
        for n, stamp in enumerate(stamps, start=1):
            request = _request(n, number="+966501230567" if n == 2 else "+966501234567")
            request.created_at = stamp
            session.add(request)
        session.add(_request(9, branch="jeddah", number="+966501234567"))
        session.commit()

        def pages(tail: str) -> list[list[str]]:
            found, cursor = [], None
            while True:
                page = search.search(
                    session,
                    {"riyadh"},
                    search.RequestFilter(phone_tail=tail),
                    limit=1,
                    cursor=cursor,
                )
                found.append([item.reference_number for item in page.items])
                if page.next_cursor is None:
                    return found
                cursor = page.next_cursor

        # Newest first, a tie on created_at broken by id (the later first), one a page.
        assert pages("4567") == [[f"{n:010d}"] for n in (1, 3, 4)]
        assert pages("567") == [[f"{n:010d}"] for n in (1, 3, 4, 2)]
    if database.engine.dialect.name != "sqlite":
        return  # PostgreSQL plans by its statistics: a handful of rows is read whole

    def plan(tail: str) -> str:
        sent: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            sent.append((statement, parameters))

        with database.sessions() as session:
            sa.event.listen(database.engine, "before_cursor_execute", capture)
            try:
                search.search(session, {"riyadh"}, search.RequestFilter(phone_tail=tail))
            finally:
                sa.event.remove(database.engine, "before_cursor_execute", capture)
        statement, parameters = next((s, p) for s, p in sent if "callback_tail" in s)
        with database.engine.connect() as connection:
            return " / ".join(
                row[3]
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            )

    # Four digits: the page is read in order from the index, nothing is sorted, so no more
    # rows than the page are read however many requests share the tail.
    four = plan("4567")
    assert "ix_request_branch_callback_tail_created (branch=? AND callback_tail=?)" in four
    assert "TEMP B-TREE" not in four
    # Three: the matches' ids are sorted from the index alone, then the page's rows are read.
    three = plan("567")
    assert (
        "COVERING INDEX ix_request_branch_callback_tail_created (branch=? AND callback_tail>?"
        in three
    )
    assert "USING INTEGER PRIMARY KEY" in three
