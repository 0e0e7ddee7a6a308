"""Queue members through AMI: the ``QueueMembership`` port of agent presence, and live queues.

Every value sent is checked here too (queue and interface names by shape, reasons from the
closed list's alphabet), on top of the AMI client's CR/LF refusal, so a crafted extension or
reason cannot become a second header or another queue's member. Asterisk's refusals and
silences become the core's ``TelephonyUnavailable``.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from providers.ami import AMIActionError, AMIClient, AMIError, Message
from tawasul.errors import TelephonyUnavailable, ValidationError
from tawasul.presence import INTERFACE, MemberStatus, QueueSnapshot

log = logging.getLogger(__name__)

QUEUE_NAME = re.compile(r"tawasul-[a-z0-9_-]{1,32}")
REASON = re.compile(r"[a-z-]{0,32}")
UNAVAILABLE = {"0", "4", "5"}
"""Device states that cannot be rung: unknown, invalid, unavailable."""


P = ParamSpec("P")
T = TypeVar("T")


def _checked(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValidationError(what, "not a value that may be sent to Asterisk")
    return value


def _telephony(method: Callable[P, T]) -> Callable[P, T]:
    """AMI errors (not connected, no answer, refused) become ``TelephonyUnavailable``."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except AMIError as exc:
            log.warning("queue membership: %s: %s", method.__name__, exc)
            raise TelephonyUnavailable(f"Asterisk did not do it: {exc}") from exc

    return wrapper


class AmiQueueMembership:
    """``QueueAdd`` / ``QueuePause`` / ``QueueRemove`` / ``QueueStatus`` on Asterisk's queues."""

    def __init__(self, ami: AMIClient, timeout_s: float = 5.0) -> None:
        self._ami = ami
        self._timeout_s = timeout_s

    @_telephony
    def add(self, queue: str, interface: str, member_name: str, paused: bool) -> None:
        """Add the member (already a member: nothing to do)."""
        headers = {
            "Queue": _checked(QUEUE_NAME, queue, "queue"),
            "Interface": _checked(INTERFACE, interface, "interface"),
            "MemberName": re.sub(r"[^A-Za-z0-9_.-]", "_", member_name)[:64],
            "Paused": "true" if paused else "false",
        }
        if interface.startswith("PJSIP/"):
            # The agent's phone's own device state says in-call / ringing / not registered:
            # a closed tab or an unplugged desk phone is never rung, however "ready".
            headers["StateInterface"] = interface
        try:
            self._ami.action("QueueAdd", headers, timeout_s=self._timeout_s)
        except AMIActionError as exc:
            if "already" not in exc.args[-1].lower():
                raise

    @_telephony
    def pause(self, queue: str, interface: str, paused: bool, reason: str) -> None:
        """Pause with a reason, or unpause."""
        headers = {
            "Queue": _checked(QUEUE_NAME, queue, "queue"),
            "Interface": _checked(INTERFACE, interface, "interface"),
            "Paused": "true" if paused else "false",
            "Reason": _checked(REASON, reason, "reason"),
        }
        self._ami.action("QueuePause", headers, timeout_s=self._timeout_s)

    @_telephony
    def remove(self, queue: str, interface: str) -> None:
        """Remove the member (not a member: nothing to do)."""
        headers = {
            "Queue": _checked(QUEUE_NAME, queue, "queue"),
            "Interface": _checked(INTERFACE, interface, "interface"),
        }
        try:
            self._ami.action("QueueRemove", headers, timeout_s=self._timeout_s)
        except AMIActionError as exc:
            if "not" not in exc.args[-1].lower():
                raise

    @_telephony
    def member(self, queue: str, interface: str) -> MemberStatus | None:
        """The member's status from ``QueueStatus`` (None: not a member)."""
        events = self._ami.collect(
            "QueueStatus",
            {
                "Queue": _checked(QUEUE_NAME, queue, "queue"),
                "Member": _checked(INTERFACE, interface, "interface"),
            },
            complete="QueueStatusComplete",
            timeout_s=self._timeout_s,
        )
        for event in events:
            if event.get("Event") == "QueueMember" and _location(event) == interface:
                return member_status(event)
        return None

    @_telephony
    def snapshot(self, queue: str) -> QueueSnapshot:
        """Callers waiting and the longest wait (``QueueSummary``), members (``QueueStatus``)."""
        name = _checked(QUEUE_NAME, queue, "queue")
        summary = self._ami.collect(
            "QueueSummary",
            {"Queue": name},
            complete="QueueSummaryComplete",
            timeout_s=self._timeout_s,
        )
        status = self._ami.collect(
            "QueueStatus",
            {"Queue": name},
            complete="QueueStatusComplete",
            timeout_s=self._timeout_s,
        )
        waiting, longest = 0, 0
        for event in summary:
            if event.get("Event") == "QueueSummary" and event.get("Queue") == name:
                waiting = _int(event.get("Callers"))
                longest = _int(event.get("LongestHoldTime"))
        members = tuple(
            member_status(event)
            for event in status
            if event.get("Event") == "QueueMember" and event.get("Queue") == name
        )
        return QueueSnapshot(name, waiting, longest, members)


def member_status(event: Message) -> MemberStatus:
    """A ``QueueMember`` event as a :class:`MemberStatus`."""
    paused = event.get("Paused") == "1"
    moment = _int(event.get("LastPause")) if paused else 0
    moment = moment or _int(event.get("LoginTime"))
    return MemberStatus(
        interface=_location(event),
        name=event.get("Name") or event.get("MemberName") or "",
        paused=paused,
        reason=event.get("PausedReason", "") if paused else "",
        in_call=event.get("InCall") == "1",
        available=event.get("Status", "0") not in UNAVAILABLE,
        since=datetime.fromtimestamp(moment, UTC) if moment > 0 else None,
    )


def _location(event: Message) -> str:
    return event.get("Location") or event.get("Interface") or ""


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
