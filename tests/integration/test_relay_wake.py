"""A commit that owes an effect wakes the relay at once; a missed wake-up waits for the poll."""

from __future__ import annotations

import threading
import time

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import event, select

from jobqueue.connection import QUEUE_NAME
from jobqueue.relay import Background, RelayWake, relay_once
from tawasul import outbox
from tawasul.config import Settings
from tawasul.models import OutboxKind, OutboxMessage, OutboxStatus
from tests.helpers import Database


def _owe(database: Database, commit: bool = True) -> None:
    with database.sessions() as session:
        outbox.add(session, OutboxKind.FORWARD, request_id=None, payload={"n": 1})
        if commit:
            session.commit()
        else:
            session.rollback()


def _waiting(wake: RelayWake, timeout_s: float) -> tuple[threading.Thread, list[object]]:
    answer: list[object] = []
    thread = threading.Thread(
        target=lambda: answer.append((wake.wait(timeout_s), time.monotonic()))
    )
    thread.start()
    return thread, answer


def test_a_commit_that_owes_an_effect_wakes_the_relay(database: Database) -> None:
    wake = RelayWake(database.url)
    try:
        assert wake.wait(0.05) is False  # listening now (address bound / LISTEN sent)
        thread, answer = _waiting(wake, 20.0)
        time.sleep(0.1)
        committed = time.monotonic()
        _owe(database)
        thread.join()
        woken, at = answer[0]  # type: ignore[misc]
        assert woken is True
        assert at - committed < 2.0  # far within the 20 s it would otherwise wait
        assert wake.woken == 1
    finally:
        wake.close()


def test_a_rolled_back_change_wakes_no_one(database: Database) -> None:
    wake = RelayWake(database.url)
    try:
        assert wake.wait(0.05) is False
        _owe(database, commit=False)
        assert wake.wait(0.5) is False
        assert wake.woken == 0
    finally:
        wake.close()


def test_a_missed_wake_up_is_relayed_by_the_poll(
    database: Database, settings: Settings, redis: Redis
) -> None:
    # The row is committed while no relay listens: its wake-up is lost for good.
    _owe(database)
    wake = RelayWake(database.url)
    queue = Queue(QUEUE_NAME, connection=redis)
    relay = Background(
        "relay", lambda: relay_once(database.sessions, queue, settings), 0.3, wake=wake.wait
    )
    relay.start()
    try:
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            with database.sessions() as session:
                status = session.scalars(select(OutboxMessage.status)).one()
            if status == OutboxStatus.ENQUEUED:
                break
            time.sleep(0.05)
        assert status == OutboxStatus.ENQUEUED
        assert wake.woken == 0
        # ...and the next commit is relayed by its wake-up, long before a slow poll would.
    finally:
        relay.stopping.set()
        relay.join()
        wake.close()


def test_a_woken_relay_hands_the_row_over_before_its_poll(
    database: Database, settings: Settings, redis: Redis
) -> None:
    wake = RelayWake(database.url)
    queue = Queue(QUEUE_NAME, connection=redis)
    relay = Background(
        "relay", lambda: relay_once(database.sessions, queue, settings), 30.0, wake=wake.wait
    )
    relay.start()
    try:
        time.sleep(0.5)  # the first pass made, the relay now waits up to 30 s
        _owe(database)
        deadline = time.monotonic() + 5
        status = None
        while time.monotonic() < deadline:
            with database.sessions() as session:
                status = session.scalars(select(OutboxMessage.status)).one()
            if status == OutboxStatus.ENQUEUED:
                break
            time.sleep(0.02)
        assert status == OutboxStatus.ENQUEUED
        assert wake.woken >= 1
    finally:
        relay.stopping.set()
        wake.close()  # the relay's wait ends with the poll; do not wait 30 s for it


def test_a_released_savepoint_wakes_no_one_before_the_commit(database: Database) -> None:
    wake = RelayWake(database.url)
    try:
        assert wake.wait(0.05) is False
        with database.sessions() as session:
            with session.begin_nested():
                outbox.add(session, OutboxKind.FORWARD, request_id=None, payload={"n": 1})
            assert wake.wait(0.5) is False  # the row is not committed: nothing to relay yet
            thread, answer = _waiting(wake, 20.0)
            session.commit()
        thread.join()
        assert answer[0][0] is True  # type: ignore[index]
    finally:
        wake.close()


def test_the_transaction_that_owes_an_effect_does_not_notify_itself(database: Database) -> None:
    # PostgreSQL commits a transaction that has sent NOTIFY under one lock for the whole
    # database, held through its commit's flush to disk: every filing of every FastAGI process
    # would commit one at a time. The wake-up is sent after the commit, from elsewhere.
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's wake-up is a datagram sent after the commit")
    sent: list[str] = []

    def spy(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    wake = RelayWake(database.url)
    event.listen(database.engine, "before_cursor_execute", spy)
    try:
        assert wake.wait(0.05) is False
        thread, answer = _waiting(wake, 20.0)
        _owe(database)
        thread.join()
        assert answer[0][0] is True  # type: ignore[index]
        assert sent and not [s for s in sent if "NOTIFY" in s.upper()]
    finally:
        event.remove(database.engine, "before_cursor_execute", spy)
        wake.close()
