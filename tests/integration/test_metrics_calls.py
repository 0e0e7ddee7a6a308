"""Queue metrics from real calls through real app_queue, against figures worked out by hand."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ivr.simulator import PlacedCall, check_script
from providers.ami import AMIActionError, AMIClient, Message
from providers.events import EventRecorder
from tawasul.metrics.calls import agent_times, figures, visits
from tawasul.metrics.ingest import ingest
from tawasul.models import QueueCall, QueueEvent, utcnow
from tawasul_cli.asterisk import Harness
from tests.helpers import Database
from tests.integration.support import Phone, wait_until

pytestmark = pytest.mark.asterisk

QUEUE = "tawasul-lab"
AGENTS = ("Local/3001@tawasul-queue-agents/n", "Local/3002@tawasul-queue-agents/n")


class QueueLab:
    """Agents logged in paused, callers placed into the queue, every AMI event kept."""

    def __init__(self, ami: AMIClient, phone: Phone, database: Database) -> None:
        self.ami = ami
        self.phone = phone
        self.events: list[Message] = []
        self.recorder = EventRecorder(database.sessions)
        self._removers = [ami.add_listener(self.events.append), ami.add_listener(self.recorder)]

    def login(self, interface: str) -> None:
        self.ami.action(
            "QueueAdd",
            {"Queue": QUEUE, "Interface": interface, "MemberName": interface, "Paused": "true"},
        )

    def pause(self, interface: str, paused: bool, reason: str = "") -> None:
        self.ami.action(
            "QueuePause",
            {
                "Queue": QUEUE,
                "Interface": interface,
                "Paused": str(paused).lower(),
                "Reason": reason,
            },
        )

    def caller(self, script: str) -> PlacedCall:
        """A caller straight into the queue; the script runs on the caller's side."""
        placed = self.phone.call_into(
            "Local/s@tawasul-simulated-queue/n", check_script(script), {"SIM_QUEUE": QUEUE}
        )
        return placed

    def close(self) -> None:
        for remove in self._removers:
            remove()
        for interface in AGENTS:
            with contextlib.suppress(AMIActionError):  # not a member: nothing to remove
                self.ami.action("QueueRemove", {"Queue": QUEUE, "Interface": interface})


@pytest.fixture
def lab(ami: AMIClient, phone: Phone, database: Database, asterisk: Harness) -> Iterator[QueueLab]:
    handle = QueueLab(ami, phone, database)
    yield handle
    handle.close()


def completed(database: Database, count: int) -> bool:
    with database.sessions() as session:
        done = session.scalar(
            select(func.count(QueueCall.id)).where(
                (QueueCall.ended_at.is_not(None)) | (QueueCall.outcome == "abandoned")
            )
        )
        return (done or 0) >= count


def test_queue_figures_match_the_script(lab: QueueLab, database: Database) -> None:
    start = utcnow()
    for interface in AGENTS:
        lab.login(interface)
    # A joins at 0 and is answered when agent 1 comes back at 4 s; talks until 12 s.
    lab.caller("w12/h")
    time.sleep(1)
    lab.caller("w6/h")  # B: joins at 1, gives up at 7: an abandon (6 s > 5 s)
    time.sleep(1)
    lab.caller("w2/h")  # C: joins at 2, gives up at 4: a short abandon (2 s)
    time.sleep(1)
    lab.caller("w15/h")  # D: joins at 3, answered when agent 2 comes back at 10, talks to 18
    time.sleep(1)
    lab.pause(AGENTS[0], False)  # t = 4
    time.sleep(6)
    lab.pause(AGENTS[1], False)  # t = 10
    time.sleep(3)
    lab.pause(AGENTS[0], True, "acw")  # t = 13: after-call work on A's call (ended at 12)
    time.sleep(3)
    lab.pause(AGENTS[0], False)  # t = 16: 3 s of after-call work
    wait_until(lambda: completed(database, 4), 40, "all four visits to end")

    with database.sessions() as session:
        rows = visits(session, start, utcnow() + timedelta(minutes=1), [QUEUE])
        by_wait = sorted(rows, key=lambda r: r.joined_at)
        outcomes = [row.outcome for row in by_wait]
        assert outcomes == ["answered", "abandoned", "abandoned", "answered"]
        waits = [row.wait_s or 0 for row in by_wait]
        for measured, scripted in zip(waits, [4, 6, 2, 7], strict=True):
            assert abs(measured - scripted) <= 1.0, (waits, "waits to the second")
        for row, scripted in ((by_wait[0], 8), (by_wait[3], 8)):
            assert row.talk_s is not None and abs(row.talk_s - scripted) <= 1.0
        result = figures(session, rows, hours=1, threshold_s=60, short_abandon_s=5)
        strict = figures(session, rows, hours=1, threshold_s=5, short_abandon_s=5)

    assert (result.offered, result.answered, result.abandoned, result.short_abandoned) == (
        4,
        2,
        1,
        1,
    )
    assert result.callbacks == 0 and result.exited == 0
    assert result.service_level == pytest.approx(200 / 3)  # 2 in 60 s / (2 answered + 1 abandon)
    assert strict.service_level == pytest.approx(100 / 3)  # only A within 5 s
    assert result.abandonment_rate == pytest.approx(100 / 3)
    assert result.asa_s == pytest.approx(5.5, abs=1.0)  # (4 + 7) / 2
    assert result.aht_s == pytest.approx(9.5, abs=1.0)  # ((8 + 3 ACW) + 8) / 2
    assert result.longest_wait_s == pytest.approx(7, abs=1.0)
    assert result.calls_per_hour == 4

    # Agent 1: logged in at 0 but paused until 4, then busy with A (8 s talk + 3 s after-call
    # work, which counts as available time); over the first 20 s: 11 s busy of 16 available.
    with database.sessions() as session:
        times = {
            a.member: a for a in agent_times(session, start, start + timedelta(seconds=20), [QUEUE])
        }
    first = times[AGENTS[0]]
    assert first.logged_in_s == pytest.approx(20, abs=1.0)
    assert first.available_s == pytest.approx(16, abs=1.0)
    assert first.busy_s == pytest.approx(11, abs=1.0)
    assert first.occupancy == pytest.approx(100 * 11 / 16, abs=10)

    # The same event stream again changes nothing: every event is recorded once.
    with database.sessions() as session:
        before = session.scalar(select(func.count(QueueEvent.id)))
        replayed = [ingest(session, dict(event)) for event in lab.events]
        assert not any(replayed)
        assert session.scalar(select(func.count(QueueEvent.id))) == before
        again = figures(
            session, visits(session, start, utcnow() + timedelta(minutes=1), [QUEUE]), 1
        )
    assert again == result


def test_asterisk_restart_does_not_double_count(
    lab: QueueLab, database: Database, asterisk: Harness, ami: AMIClient
) -> None:
    start = utcnow()
    lab.login(AGENTS[0])
    lab.caller("w60/h")  # waits (the agent is paused) when Asterisk goes down
    wait_until(lambda: _count(database) == 1, 20, "the caller to join")
    asterisk.down()
    asterisk.up()
    wait_until(lambda: ami.connected.is_set(), 60, "AMI to reconnect")
    wait_until(lambda: _outcomes(database) == ["interrupted"], 30, "the visit to be closed")
    lab.login(AGENTS[0])
    lab.pause(AGENTS[0], False)
    lab.caller("w4/h")
    # Both visits ended: the interrupted one and this one. (A caller leaves the queue the
    # moment an agent is connected, so a second row alone does not mean the call is over.)
    wait_until(lambda: completed(database, 2), 40, "the second call to end")
    with database.sessions() as session:
        rows = visits(session, start, utcnow() + timedelta(minutes=1), [QUEUE])
        result = figures(session, rows, hours=1)
    assert (result.offered, result.answered, result.abandoned) == (1, 1, 0)


def _count(database: Database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count(QueueCall.id))) or 0


def _outcomes(database: Database) -> list[str]:
    with database.sessions() as session:
        return list(session.scalars(select(QueueCall.outcome).order_by(QueueCall.joined_at)))


def _event(base: float, name: str, at: float, **fields: str) -> dict[str, str]:
    """An AMI event of the lab queue, ``at`` seconds after ``base``, as Asterisk sends it."""
    return {"Event": name, "Queue": QUEUE, "Timestamp": f"{base + at:.6f}", **fields}


def _conversation(
    base: float, caller: str, agent: str, leg: str, joined: float, answered: float
) -> list[dict[str, str]]:
    """A caller who joins the queue and is answered by ``agent`` on the agent's leg ``leg``."""
    return [
        _event(base, "QueueCallerJoin", joined, Uniqueid=caller, Position="1", Count="1"),
        _event(base, "AgentCalled", answered, Uniqueid=caller, Interface=agent, DestUniqueid=leg),
        _event(base, "QueueCallerLeave", answered, Uniqueid=caller, Position="1", Count="0"),
        _event(base, "AgentConnect", answered, Uniqueid=caller, Interface=agent, DestUniqueid=leg),
    ]


def test_a_conversation_ends_when_asterisk_leaves_out_the_callers_fields(
    database: Database,
) -> None:
    """Seen in CI: the caller hung up first and AgentComplete came without a Uniqueid."""
    caller, leg, agent = "9e3b2555.2", "1795860273.2", AGENTS[0]
    base = 1795860273.0
    stream = [
        *_conversation(base, caller, agent, leg, 0.5, 0.7),
        # The caller's channel is gone: no Uniqueid, only the agent's side.
        _event(base, "AgentComplete", 4.2, Interface=agent, DestUniqueid=leg, Reason="caller"),
    ]
    with database.sessions() as session:
        assert all(ingest(session, item) for item in stream)
        (visit,) = session.scalars(select(QueueCall)).all()
    assert visit.uniqueid == caller and visit.outcome == "answered"
    assert visit.ended_at is not None
    assert visit.talk_s == pytest.approx(3.5, abs=0.01)


def test_a_conversation_ends_when_asterisk_leaves_out_both_channels(database: Database) -> None:
    """Seen in CI: both channels gone, AgentComplete named only the member and the times."""
    base = 1795864395.0

    def complete(agent: str, at: float, talk: str) -> dict[str, str]:
        # Exactly the fields Asterisk sent: no Uniqueid, no DestUniqueid, no Linkedid.
        return _event(
            base, "AgentComplete", at, HoldTime="4", TalkTime=talk, Reason="caller",
            Interface=agent, MemberName=agent,
        )  # fmt: skip

    first, second = AGENTS
    stream = [
        *_conversation(base, "a.2", first, "1795864399.208", 0.5, 4.5),
        *_conversation(base, "d.2", second, "1795864405.210", 3.5, 10.5),
        complete(first, 12.0, "7"),  # A hung up: ends the first agent's call, not the second's
        complete(second, 18.0, "7"),
    ]
    with database.sessions() as session:
        assert all(ingest(session, item) for item in stream)
        ended = {v.uniqueid: v for v in session.scalars(select(QueueCall))}
    assert ended["a.2"].ended_at is not None and ended["a.2"].talk_s == pytest.approx(7.5)
    assert ended["d.2"].ended_at is not None and ended["d.2"].talk_s == pytest.approx(7.5)

    # A member taking two calls at once (ringinuse = yes): the talk time tells them apart.
    stream = [
        *_conversation(base, "e.2", first, "1795864420.300", 30.0, 31.0),
        *_conversation(base, "f.2", first, "1795864425.302", 35.0, 36.0),
        complete(first, 41.0, "10"),  # answered at 31: the earlier call ends first
    ]
    with database.sessions() as session:
        assert all(ingest(session, item) for item in stream)
        ended = {v.uniqueid: v for v in session.scalars(select(QueueCall))}
    assert ended["e.2"].ended_at is not None and ended["e.2"].talk_s == pytest.approx(10)
    assert ended["f.2"].ended_at is None and ended["f.2"].outcome == "answered"
