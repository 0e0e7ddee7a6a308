"""Agent presence: what is asked of Asterisk for each change, and what is refused before it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tawasul.errors import NotAnAgent, ValidationError
from tawasul.models import Role, User
from tawasul.presence import (
    MemberStatus,
    PauseReason,
    PresenceService,
    PresenceState,
    QueueSnapshot,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@dataclass
class FakeQueues:
    """Queue members in memory, every call recorded."""

    members: dict[tuple[str, str], MemberStatus] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def add(self, queue: str, interface: str, member_name: str, paused: bool) -> None:
        self.calls.append(("add", queue, interface, str(paused)))
        self.members[(queue, interface)] = MemberStatus(
            interface, member_name, paused, "", False, True, None
        )

    def pause(self, queue: str, interface: str, paused: bool, reason: str) -> None:
        self.calls.append(("pause", queue, interface, str(paused), reason))
        old = self.members[(queue, interface)]
        self.members[(queue, interface)] = MemberStatus(
            interface, old.name, paused, reason if paused else "", False, True, None
        )

    def remove(self, queue: str, interface: str) -> None:
        self.calls.append(("remove", queue, interface))
        del self.members[(queue, interface)]

    def member(self, queue: str, interface: str) -> MemberStatus | None:
        return self.members.get((queue, interface))

    def snapshot(self, queue: str) -> QueueSnapshot:
        found = tuple(m for (q, _), m in self.members.items() if q == queue)
        return QueueSnapshot(queue, 0, 0, found)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def agent(extension: str | None = "PJSIP/1001", takes_calls: bool = True) -> User:
    return User(
        id=7,
        username="noura",
        role=Role.AGENT,
        branch="riyadh",
        extension=extension,
        takes_calls=takes_calls,
    )


def test_staff_who_take_no_calls_are_never_queue_members() -> None:
    queues = FakeQueues()
    presence = PresenceService(queues, Clock())
    with pytest.raises(NotAnAgent):
        presence.change(agent(takes_calls=False), PresenceState.READY, None)
    with pytest.raises(NotAnAgent):
        presence.current(agent(takes_calls=False))
    assert queues.calls == []


def test_ready_logs_in_to_the_branch_queue_then_unpauses() -> None:
    queues, clock = FakeQueues(), Clock()
    presence = PresenceService(queues, clock)
    now = presence.change(agent(), PresenceState.READY, None)
    assert queues.calls == [
        ("add", "tawasul-riyadh", "PJSIP/1001", "False"),
        ("pause", "tawasul-riyadh", "PJSIP/1001", "False", ""),
    ]
    assert (now.state, now.queue, now.since) == (PresenceState.READY, "tawasul-riyadh", T0)


def test_pause_keeps_the_membership_and_tells_the_reason_and_time_in_state() -> None:
    queues, clock = FakeQueues(), Clock()
    presence = PresenceService(queues, clock)
    presence.change(agent(), PresenceState.READY, None)
    clock.now = T0 + timedelta(minutes=5)
    paused = presence.change(agent(), PresenceState.PAUSED, PauseReason.AFTER_CALL_WORK)
    assert queues.calls[-1] == ("pause", "tawasul-riyadh", "PJSIP/1001", "True", "after-call-work")
    assert [c[0] for c in queues.calls].count("add") == 1
    assert (paused.state, paused.reason, paused.since) == (
        PresenceState.PAUSED,
        PauseReason.AFTER_CALL_WORK,
        T0 + timedelta(minutes=5),
    )
    clock.now = T0 + timedelta(minutes=9)
    assert presence.current(agent()).since == T0 + timedelta(minutes=5)  # unchanged state


def test_log_out_removes_the_member_and_twice_is_harmless() -> None:
    queues = FakeQueues()
    presence = PresenceService(queues, Clock())
    presence.change(agent(), PresenceState.READY, None)
    assert presence.change(agent(), PresenceState.LOGGED_OUT, None).state == (
        PresenceState.LOGGED_OUT
    )
    presence.change(agent(), PresenceState.LOGGED_OUT, None)
    assert [c[0] for c in queues.calls] == ["add", "pause", "remove"]


@pytest.mark.parametrize(
    ("state", "reason"),
    [(PresenceState.PAUSED, None), (PresenceState.READY, PauseReason.BREAK)],
)
def test_a_pause_needs_a_reason_and_only_a_pause_has_one(state, reason) -> None:
    queues = FakeQueues()
    with pytest.raises(ValidationError):
        PresenceService(queues, Clock()).change(agent(), state, reason)
    assert queues.calls == []


@pytest.mark.parametrize(
    "extension",
    [None, "", "1001", "PJSIP/1001\r\nAction: Originate", "PJSIP/10 01", "Local/x@y/n/z"],
)
def test_an_extension_that_is_not_an_endpoint_never_reaches_asterisk(extension) -> None:
    queues = FakeQueues()
    with pytest.raises(ValidationError):
        PresenceService(queues, Clock()).change(agent(extension), PresenceState.READY, None)
    assert queues.calls == []


def test_agents_by_state_counts_calls_pauses_per_reason_and_unavailable() -> None:
    members = (
        MemberStatus("PJSIP/1", "a", False, "", False, True, None),
        MemberStatus("PJSIP/2", "b", False, "", True, True, None),
        MemberStatus("PJSIP/3", "c", True, "break", False, True, None),
        MemberStatus("PJSIP/4", "d", True, "break", False, True, None),
        MemberStatus("PJSIP/5", "e", False, "", False, False, None),
    )
    assert QueueSnapshot("tawasul-riyadh", 2, 40, members).agents_by_state() == {
        "ready": 1,
        "on_call": 1,
        "unavailable": 1,
        "paused:break": 2,
    }
