"""An agent's presence in the branch queue: logged in, ready, paused with a reason, logged out.

Asterisk's app_queue is the truth about who is a member and who is paused; this service only
decides what may be asked of it (the agent's own branch queue, their own softphone, a reason
from a closed list) and asks through the :class:`QueueMembership` port.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from tawasul.errors import NotAnAgent, ValidationError
from tawasul.models import User, utcnow

INTERFACE = re.compile(r"(PJSIP|SIP|IAX2|Local)/[A-Za-z0-9_.+@-]{1,64}(/n)?")
"""A queue member's interface: a softphone endpoint or a Local channel of the project."""


class PresenceState(StrEnum):
    """Where an agent stands towards the branch queue."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    PAUSED = "paused"


class PauseReason(StrEnum):
    """Why an agent is paused; Asterisk is told the value (``after-call-work`` counts in AHT)."""

    BREAK = "break"
    MEETING = "meeting"
    TRAINING = "training"
    AFTER_CALL_WORK = "after-call-work"
    MISSED_CALL = "missed-call"
    """Set by the system, not chosen: a queue call rang the agent's phone out (ring-no-answer)."""


@dataclass(frozen=True)
class MemberStatus:
    """What Asterisk says about one queue member."""

    interface: str
    name: str
    paused: bool
    reason: str
    in_call: bool
    available: bool
    """The device can be rung (not unavailable or invalid)."""
    since: datetime | None
    """When the member last logged in or paused, as Asterisk reports it (None: unknown)."""


@dataclass(frozen=True)
class QueueSnapshot:
    """A queue right now, as Asterisk reports it (``QueueSummary`` and ``QueueStatus``)."""

    queue: str
    waiting: int
    longest_wait_s: int
    members: tuple[MemberStatus, ...]

    def agents_by_state(self) -> dict[str, int]:
        """Members counted as ready, on a call, paused (per reason) and unavailable."""
        counts: dict[str, int] = {"ready": 0, "on_call": 0, "unavailable": 0}
        for member in self.members:
            if member.in_call:
                key = "on_call"
            elif member.paused:
                key = f"paused:{member.reason or 'other'}"
            elif not member.available:
                key = "unavailable"
            else:
                key = "ready"
            counts[key] = counts.get(key, 0) + 1
        return counts


@dataclass(frozen=True)
class Presence:
    """An agent's presence as the console shows it."""

    state: PresenceState
    reason: PauseReason | None
    queue: str
    interface: str | None
    since: datetime | None
    in_call: bool = False
    device_available: bool = True
    """Asterisk can ring the member's phone (registered: a closed tab or an unplugged desk
    phone is not, and is never rung however "ready" it is)."""


class QueueMembership(Protocol):
    """The telephony side of presence: Asterisk queue members (AMI in production)."""

    def add(self, queue: str, interface: str, member_name: str, paused: bool) -> None:
        """Make ``interface`` a member of ``queue`` (already a member: no error).

        Args:
            queue: the Asterisk queue, e.g. ``tawasul-riyadh``.
            interface: the member's device, e.g. ``PJSIP/1001``.
            member_name: the name Asterisk shows for the member (the username).
            paused: join paused rather than ready.

        Raises:
            TelephonyUnavailable: Asterisk could not be asked, or refused.
        """

    def pause(self, queue: str, interface: str, paused: bool, reason: str) -> None:
        """Pause (with a reason) or unpause a member.

        Args:
            queue: the Asterisk queue.
            interface: the member's device.
            paused: True to pause, False to make the member ready again.
            reason: why (a ``PauseReason`` value), "" when unpausing.

        Raises:
            TelephonyUnavailable: Asterisk could not be asked, or refused.
        """

    def remove(self, queue: str, interface: str) -> None:
        """Take ``interface`` out of ``queue`` (not a member: no error).

        Args:
            queue: the Asterisk queue.
            interface: the member's device.

        Raises:
            TelephonyUnavailable: Asterisk could not be asked, or refused.
        """

    def member(self, queue: str, interface: str) -> MemberStatus | None:
        """The member's status, or None when not a member.

        Args:
            queue: the Asterisk queue.
            interface: the member's device.

        Returns:
            What Asterisk reports about the member, or None.

        Raises:
            TelephonyUnavailable: Asterisk could not be asked.
        """

    def snapshot(self, queue: str) -> QueueSnapshot:
        """Callers waiting and members of a queue now.

        Raises:
            TelephonyUnavailable: Asterisk could not be asked.
        """


def branch_queue(branch: str) -> str:
    """The Asterisk queue of a branch (``queues.conf``: ``[tawasul-<branch>]``)."""
    return f"tawasul-{branch}"


class PresenceService:
    """Log an agent in and out of their branch queue, pause and resume them."""

    def __init__(self, membership: QueueMembership, clock: Callable[[], datetime] = utcnow) -> None:
        self._membership = membership
        self._clock = clock
        self._lock = threading.Lock()
        self._since: dict[tuple[str, str], tuple[PresenceState, str, datetime]] = {}

    def interface_of(self, user: User) -> str:
        """The user's softphone as a queue interface.

        Raises:
            NotAnAgent: the user takes no calls, so is never a queue member.
            ValidationError: no extension in the profile, or one that is not an endpoint name
                (nothing unchecked ever reaches Asterisk).
        """
        if not user.takes_calls:
            raise NotAnAgent(f"{user.username} takes no calls: not a member of any queue")
        extension = (user.extension or "").strip()
        if not extension:
            raise ValidationError("extension", "set your softphone extension first")
        if not INTERFACE.fullmatch(extension):
            raise ValidationError("extension", "not a softphone endpoint (e.g. PJSIP/1001)")
        return extension

    def current(self, user: User) -> Presence:
        """The user's presence now, read from Asterisk.

        Raises:
            NotAnAgent: the user takes no calls.
            ValidationError: no usable extension in the user's profile.
            TelephonyUnavailable: Asterisk could not be asked.
        """
        queue = branch_queue(user.branch)
        interface = self.interface_of(user)
        status = self._membership.member(queue, interface)
        if status is None:
            state, reason = PresenceState.LOGGED_OUT, None
        elif status.paused:
            state = PresenceState.PAUSED
            reason = _reason(status.reason)
        else:
            state, reason = PresenceState.READY, None
        since = self._remembered_since(queue, interface, state, reason)
        if since is None and status is not None:
            since = status.since
        return Presence(
            state=state,
            reason=reason,
            queue=queue,
            interface=interface,
            since=since,
            in_call=bool(status and status.in_call),
            device_available=status.available if status is not None else True,
        )

    def change(self, user: User, state: PresenceState, reason: PauseReason | None) -> Presence:
        """Move the user to ``state`` (a pause needs a reason) and return the new presence.

        Args:
            user: the agent (their branch queue, their extension).
            state: ready (logs in if needed), paused (logs in paused if needed), logged out.
            reason: required for paused, refused otherwise.

        Returns:
            The presence after the change, as Asterisk now reports it.

        Raises:
            NotAnAgent: the user takes no calls.
            ValidationError: a pause without a reason, a reason without a pause, or no usable
                extension.
            TelephonyUnavailable: Asterisk could not be asked, or refused.
        """
        if state == PresenceState.PAUSED and reason is None:
            raise ValidationError("reason", "a pause needs a reason")
        if state != PresenceState.PAUSED and reason is not None:
            raise ValidationError("reason", "only a pause has a reason")
        queue = branch_queue(user.branch)
        interface = self.interface_of(user)
        member = self._membership.member(queue, interface)
        if state == PresenceState.LOGGED_OUT:
            if member is not None:
                self._membership.remove(queue, interface)
        else:
            paused = state == PresenceState.PAUSED
            if member is None:
                self._membership.add(queue, interface, user.username, paused)
            self._membership.pause(queue, interface, paused, reason.value if reason else "")
        self.remember(queue, interface, state, reason.value if reason else "")
        return self.current(user)

    def missed_call(self, queue: str, interface: str) -> None:
        """Pause a member whose phone let a queue call ring out, with the reason "missed-call".

        A phone nobody answers (a tab left open, an agent away) would otherwise be rung again
        for every caller, each waiting a ring timeout for nothing.

        Args:
            queue: the Asterisk queue that rang the member.
            interface: the member's device.

        Raises:
            TelephonyUnavailable: Asterisk could not be asked, or refused.
        """
        self._membership.pause(queue, interface, True, PauseReason.MISSED_CALL.value)
        self.remember(queue, interface, PresenceState.PAUSED, PauseReason.MISSED_CALL.value)

    def remember(self, queue: str, interface: str, state: PresenceState, reason: str) -> None:
        """Note when a member entered a state (from our actions or Asterisk's events).

        Args:
            queue: the Asterisk queue.
            interface: the member's device.
            state: the state entered.
            reason: the pause reason, "" unless paused.
        """
        key = (queue, interface)
        with self._lock:
            previous = self._since.get(key)
            if previous is None or previous[:2] != (state, reason):
                self._since[key] = (state, reason, self._clock())

    def _remembered_since(
        self, queue: str, interface: str, state: PresenceState, reason: PauseReason | None
    ) -> datetime | None:
        with self._lock:
            found = self._since.get((queue, interface))
        wanted = (state, reason.value if reason else "")
        return found[2] if found is not None and found[:2] == wanted else None


def _reason(value: str) -> PauseReason | None:
    try:
        return PauseReason(value)
    except ValueError:
        return None  # paused from a phone or another tool, with a reason of its own
