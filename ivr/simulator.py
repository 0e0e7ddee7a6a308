"""Scripted callers: real calls into the IVR over Local channels, with DTMF, placed through AMI.

Used by the demo, the integration tests and the benchmarks. The caller's half of each call runs
``[tawasul-simulator]`` in the dialplan, which plays the script: ``w1.5`` waits 1.5 s, ``h``
hangs up, anything else is sent as DTMF. Steps are separated by ``/``.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass

from ivr.ami import AMIClient, Message

INBOUND = "Local/s@tawasul-inbound/n"
_STEP = re.compile(r"w\d+(\.\d+)?|h|[0-9*#A-D]+")


@dataclass(frozen=True)
class PlacedCall:
    """A scripted call; its two Local halves get ids we chose, so we can find them again."""

    ivr_uniqueid: str
    """UNIQUEID of the IVR side (Local;2), which the ``Call`` row records."""
    caller_uniqueid: str


def check_script(script: str) -> str:
    """Return the script if every step is a wait, a hang-up or DTMF digits.

    Raises:
        ValueError: for any other step (it would reach the dialplan as data).
    """
    for step in script.split("/"):
        if not _STEP.fullmatch(step):
            raise ValueError(f"bad simulator step {step!r}")
    return script


class Simulator:
    """Places scripted calls and tells when each has ended."""

    def __init__(self, ami: AMIClient) -> None:
        self.ami = ami
        self._ended: set[str] = set()
        self._changed = threading.Condition()
        self._remove = ami.add_listener(self._on_event)

    def _on_event(self, event: Message) -> None:
        if event.get("Event") == "Hangup":
            with self._changed:
                self._ended.add(event.get("Uniqueid", ""))
                self._changed.notify_all()

    def call(self, script: str, caller_id: str = "0501234567") -> PlacedCall:
        """Call the IVR; the caller's side plays ``script``."""
        return self.call_into(INBOUND, script, {}, caller_id)

    def call_into(
        self,
        destination: str,
        script: str,
        variables: dict[str, str],
        caller_id: str = "0501234567",
    ) -> PlacedCall:
        """Call a Local destination (the IVR, a queue...); the caller's side plays ``script``."""
        base = uuid.uuid4().hex
        placed = PlacedCall(ivr_uniqueid=f"{base}.2", caller_uniqueid=f"{base}.1")
        self.ami.originate(
            destination,
            context="tawasul-simulator",
            exten="s",
            caller_id=caller_id,
            variables={**variables, "SIM_SCRIPT": check_script(script)},
            # The ids must not be prefixes of each other: Asterisk matches uniqueids by prefix.
            channel_id=placed.caller_uniqueid,
            other_channel_id=placed.ivr_uniqueid,
        )
        return placed

    def wait_ended(self, placed: PlacedCall, timeout_s: float = 90) -> bool:
        """Wait until the IVR side of the call hung up; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: placed.ivr_uniqueid in self._ended, timeout_s)

    def close(self) -> None:
        """Stop listening for hang-ups."""
        self._remove()
