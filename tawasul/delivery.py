"""What delivering an outbox row can come to (the job turns these into outbox statuses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Done:
    """The effect happened (now or on an earlier run)."""


@dataclass(frozen=True)
class Held:
    """Not now: try again at ``until`` (rate limit, outside working hours, a retry later)."""

    until: datetime


@dataclass(frozen=True)
class Failed:
    """It can never happen; ``reason`` is recorded for the agents."""

    reason: str


Outcome = Done | Held | Failed
