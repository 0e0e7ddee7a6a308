"""The demo's waiting caller: it calls into the queue once, and only once an agent is ready."""

from __future__ import annotations

import threading
from typing import Any

from ivr.simulator import INBOUND
from providers.ami import AMIConnectionError
from tawasul_cli.demo import WAITING_CALLER, _call_when_an_agent_is_ready, _ready_agent


class FakeAmi:
    """Answers QueueStatus with the members given, one list per call (the last one repeats)."""

    def __init__(self, *answers: list[dict[str, str]] | Exception) -> None:
        self.answers = list(answers)

    def collect(self, action: str, headers: Any, *, complete: str) -> list[dict[str, str]]:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeSimulator:
    def __init__(self) -> None:
        self.placed: list[tuple[str, str, dict[str, str]]] = []

    def call_into(
        self, destination: str, script: str, variables: dict[str, str], caller: str
    ) -> None:
        self.placed.append((destination, script, variables))


def member(paused: str, status: str) -> dict[str, str]:
    return {"Event": "QueueMember", "Paused": paused, "Status": status}


def test_an_agent_is_ready_only_when_in_the_queue_unpaused_and_reachable() -> None:
    assert not _ready_agent(FakeAmi([]), "tawasul-riyadh")  # type: ignore[arg-type]
    assert not _ready_agent(FakeAmi([member("1", "1")]), "q")  # type: ignore[arg-type]
    # Status 5: the device is unavailable (the console's tab is closed, no phone registered).
    assert not _ready_agent(FakeAmi([member("0", "5")]), "q")  # type: ignore[arg-type]
    assert not _ready_agent(FakeAmi(AMIConnectionError("down")), "q")  # type: ignore[arg-type]
    assert _ready_agent(FakeAmi([member("0", "1")]), "q")  # type: ignore[arg-type]


def test_the_waiting_caller_calls_once_when_an_agent_goes_ready() -> None:
    ami = FakeAmi([], [member("1", "1")], [member("0", "1")])
    simulator = FakeSimulator()
    stop = threading.Event()
    thread = threading.Thread(
        target=_call_when_an_agent_is_ready,
        args=(simulator, ami, "tawasul-riyadh", stop),
        daemon=True,
    )
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(simulator.placed) == 1
    destination, script, variables = simulator.placed[0]
    assert destination == INBOUND and script == WAITING_CALLER and variables["SIM_VOICE"]


def test_the_waiting_caller_never_calls_when_the_demo_stops_first() -> None:
    simulator = FakeSimulator()
    stop = threading.Event()
    stop.set()
    _call_when_an_agent_is_ready(simulator, FakeAmi([member("0", "1")]), "q", stop)  # type: ignore[arg-type]
    assert simulator.placed == []
