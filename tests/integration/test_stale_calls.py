"""Closing the calls of a dead FastAGI server, against a real database (the channels faked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tawasul.models import Call, CallOutcome, QueueCall
from tawasul.ports import CallLeg, DeliveryError
from tawasul.stale_calls import close_calls_without_channel
from tests.helpers import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class Channels:
    """The telephony system's list of live channels."""

    def __init__(self, live: set[str] | None) -> None:
        self.live = live

    def connect(self, first: str, second: str, variables: dict[str, str], t: float) -> CallLeg:
        raise AssertionError("not used")

    def live_channels(self) -> set[str]:
        if self.live is None:
            raise DeliveryError("AMI: not connected", permanent=False)
        return set(self.live)


def add_call(database: Database, uniqueid: str, started: datetime, **fields: object) -> None:
    with database.sessions() as session:
        session.add(Call(uniqueid=uniqueid, started_at=started, journey=[], **fields))
        session.commit()


def call(database: Database, uniqueid: str) -> Call:
    with database.sessions() as session:
        return session.scalars(select(Call).where(Call.uniqueid == uniqueid)).one()


def test_only_calls_whose_channel_is_gone_are_closed(database: Database) -> None:
    earlier = NOW - timedelta(minutes=5)
    add_call(database, "gone.1", earlier)
    add_call(database, "live.1", earlier - timedelta(hours=3))  # old, but still carried
    add_call(database, "filed.1", earlier, outcome=CallOutcome.REQUEST_FILED)
    add_call(database, "queued.1", earlier, outcome=CallOutcome.SENT_TO_AGENT)
    add_call(database, "new.1", NOW + timedelta(seconds=1))  # opened after the snapshot
    add_call(database, "closing.1", earlier)  # its own server writes its end during the grace
    left_queue = NOW - timedelta(minutes=1)
    with database.sessions() as session:
        session.add(
            QueueCall(
                uniqueid="queued.1",
                queue="tawasul-riyadh",
                joined_at=earlier,
                left_at=left_queue - timedelta(seconds=5),
                ended_at=left_queue,
                outcome="abandoned",
            )
        )
        session.commit()
    own_end = NOW - timedelta(seconds=2)

    def grace(seconds: float) -> None:
        assert seconds == 5.0
        with database.sessions() as session:
            row = session.scalars(select(Call).where(Call.uniqueid == "closing.1")).one()
            row.ended_at, row.outcome = own_end, CallOutcome.HUNG_UP
            session.commit()

    with database.sessions() as session:
        closed = close_calls_without_channel(
            session, Channels({"live.1", "other.9"}), clock=lambda: NOW, sleep=grace
        )
    assert sorted(closed) == ["filed.1", "gone.1", "queued.1"]
    assert (call(database, "gone.1").outcome, call(database, "gone.1").ended_at) == (
        CallOutcome.FAILED,
        NOW,
    )
    assert call(database, "gone.1").journey[-1] == {"step": "server_lost", "t": 300.0}
    assert (call(database, "filed.1").outcome, call(database, "filed.1").ended_at) == (
        CallOutcome.REQUEST_FILED,
        NOW,
    )
    # Asterisk's own record of the channel: when it left the agent queue.
    assert (call(database, "queued.1").outcome, call(database, "queued.1").ended_at) == (
        CallOutcome.SENT_TO_AGENT,
        left_queue,
    )
    for uniqueid in ("live.1", "new.1"):
        assert (call(database, uniqueid).outcome, call(database, uniqueid).ended_at) == (
            CallOutcome.IN_PROGRESS,
            None,
        )
    assert (call(database, "closing.1").outcome, call(database, "closing.1").ended_at) == (
        CallOutcome.HUNG_UP,
        own_end,
    )


def test_nothing_is_closed_when_asterisk_cannot_say(database: Database) -> None:
    add_call(database, "gone.1", NOW - timedelta(minutes=5))
    with database.sessions() as session, pytest.raises(DeliveryError):
        close_calls_without_channel(session, Channels(None), clock=lambda: NOW)
    assert call(database, "gone.1").ended_at is None


def test_nothing_to_close_waits_for_nothing(database: Database) -> None:
    add_call(database, "live.1", NOW - timedelta(minutes=5))

    def no_sleep(seconds: float) -> None:
        raise AssertionError("waited with nothing to close")

    with database.sessions() as session:
        assert (
            close_calls_without_channel(
                session, Channels({"live.1"}), clock=lambda: NOW, sleep=no_sleep
            )
            == []
        )
