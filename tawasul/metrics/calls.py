"""Queue figures from the recorded visits. Each definition is written here and in docs/metrics.md.

Vocabulary: a *visit* is one caller in one queue. It is **answered** when an agent connects,
**abandoned** when the caller hangs up while waiting, **exited** when the caller leaves without
hanging up and without an agent (a timeout, or a key pressed to leave, as the place-keeping
callback does), **interrupted** when Asterisk restarted under it. An abandon shorter than the
short-abandon threshold (default 5 s) is a **short abandon**: a misdial or a caller who heard
the queue and changed their mind, counted but left out of the rates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.models import Callback, QueueCall, QueueEvent

GRANULARITIES = ("hour", "day", "week", "month")


@dataclass(frozen=True)
class CallFigures:
    """The queue figures of one period (one queue, or all)."""

    offered: int
    """Visits that joined in the period (interrupted ones excluded)."""
    answered: int
    answered_within_threshold: int
    abandoned: int
    """Abandons at or after the short-abandon threshold."""
    short_abandoned: int
    callbacks: int
    """Visits that left the queue for a place-keeping callback: never abandons."""
    exited: int
    """Other exits without an agent (queue timeout, key)."""
    service_level: float | None
    """answered within threshold / (answered + abandoned), in %: short abandons, callbacks
    and exits are in neither part."""
    asa_s: float | None
    """Average speed of answer: mean wait of the answered visits."""
    aht_s: float | None
    """Average handling time: mean of talk + hold + after-call work of the answered visits."""
    abandonment_rate: float | None
    """abandoned / (answered + abandoned), in %."""
    longest_wait_s: float | None
    calls_per_hour: float
    """offered per hour of the period, against the configured capacity."""
    capacity_per_hour: int

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (rounded to the tenth)."""
        return {k: round(v, 1) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _ratio(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def visits(
    session: Session, start: datetime, end: datetime, queues: Iterable[str] | None = None
) -> list[QueueCall]:
    """The visits that joined in [start, end), optionally of some queues."""
    statement = select(QueueCall).where(QueueCall.joined_at >= start, QueueCall.joined_at < end)
    if queues is not None:
        statement = statement.where(QueueCall.queue.in_(list(queues)))
    return list(session.scalars(statement.order_by(QueueCall.joined_at)))


def after_call_work(session: Session, visit: QueueCall, grace: timedelta) -> float:
    """Seconds the agent stayed paused for after-call work right after this call.

    After-call work is a pause whose reason starts with "acw" (or "after-call") begun within
    ``grace`` of the end of the call, up to the unpause.
    """
    if visit.ended_at is None or visit.agent is None:
        return 0.0
    pauses = session.scalars(
        select(QueueEvent)
        .where(QueueEvent.event == "QueueMemberPause", QueueEvent.member == visit.agent)
        .where(
            QueueEvent.at >= visit.ended_at, QueueEvent.at <= visit.ended_at + timedelta(hours=2)
        )
        .order_by(QueueEvent.at)
    ).all()
    started: datetime | None = None
    for pause in pauses:
        reason = str(pause.data.get("PausedReason", "")).lower()
        paused = pause.data.get("Paused") == "1"
        if started is None:
            if not paused or pause.at - visit.ended_at > grace:
                return 0.0
            if not (reason.startswith("acw") or reason.startswith("after-call")):
                return 0.0
            started = pause.at
        elif not paused:
            return (pause.at - started).total_seconds()
    return 0.0


def figures(
    session: Session,
    rows: list[QueueCall],
    hours: float,
    threshold_s: float = 60,
    short_abandon_s: float = 5,
    capacity_per_hour: int = 80,
) -> CallFigures:
    """Compute the figures of a set of visits spanning ``hours`` hours."""
    callback_calls = set(
        session.scalars(select(Callback.call_id).where(Callback.call_id.is_not(None)))
    )
    counted = [row for row in rows if row.outcome != "interrupted"]
    answered = [row for row in counted if row.outcome == "answered"]
    abandons = [row for row in counted if row.outcome == "abandoned"]
    short = [row for row in abandons if (row.wait_s or 0) < short_abandon_s]
    abandoned = [row for row in abandons if (row.wait_s or 0) >= short_abandon_s]
    exits = [row for row in counted if row.outcome == "exited"]
    callbacks = [row for row in exits if row.call_id is not None and row.call_id in callback_calls]
    within = [row for row in answered if (row.wait_s or 0) <= threshold_s]
    handled = [row for row in answered if row.talk_s is not None]
    grace = timedelta(seconds=5)
    handling = [
        (row.talk_s or 0) + row.hold_s + after_call_work(session, row, grace) for row in handled
    ]
    waits = [row.wait_s or 0 for row in counted if row.wait_s is not None]
    return CallFigures(
        offered=len(counted),
        answered=len(answered),
        answered_within_threshold=len(within),
        abandoned=len(abandoned),
        short_abandoned=len(short),
        callbacks=len(callbacks),
        exited=len(exits) - len(callbacks),
        service_level=_ratio(len(within), len(answered) + len(abandoned)),
        asa_s=_mean([row.wait_s or 0 for row in answered]),
        aht_s=_mean(handling),
        abandonment_rate=_ratio(len(abandoned), len(answered) + len(abandoned)),
        longest_wait_s=max(waits) if waits else None,
        calls_per_hour=len(counted) / hours if hours else 0.0,
        capacity_per_hour=capacity_per_hour,
    )


def bucket_start(moment: datetime, granularity: str, zone: ZoneInfo) -> datetime:
    """The local start of the hour, day, ISO week or month that holds ``moment``."""
    local = moment.astimezone(zone)
    if granularity == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")


def _bucket_hours(start: datetime, granularity: str) -> float:
    if granularity == "hour":
        return 1.0
    if granularity == "day":
        return 24.0
    if granularity == "week":
        return 24.0 * 7
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - start).total_seconds() / 3600


def series(
    session: Session,
    start: datetime,
    end: datetime,
    granularity: str,
    zone: ZoneInfo,
    queues: Iterable[str] | None = None,
    **options: Any,
) -> list[tuple[datetime, CallFigures]]:
    """The figures per hour, day, week or month (local time), oldest first."""
    groups: dict[datetime, list[QueueCall]] = defaultdict(list)
    for row in visits(session, start, end, queues):
        groups[bucket_start(row.joined_at, granularity, zone)].append(row)
    return [
        (moment, figures(session, rows, _bucket_hours(moment, granularity), **options))
        for moment, rows in sorted(groups.items())
    ]


@dataclass(frozen=True)
class AgentTime:
    """One agent's time in a period: logged in, available, busy, and the ratio of the two."""

    member: str
    logged_in_s: float
    available_s: float
    """Logged in and not paused (after-call-work pauses count as available: they are work)."""
    busy_s: float
    """Talk + hold + after-call work of the calls the agent answered in the period."""
    occupancy: float | None
    """busy / available, in %."""


def _clip(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds())


def agent_times(
    session: Session, start: datetime, end: datetime, queues: Iterable[str] | None = None
) -> list[AgentTime]:
    """Occupancy per agent from queue-membership and pause events and the answered visits."""
    statement = (
        select(QueueEvent)
        .where(QueueEvent.event.in_(("QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause")))
        .where(QueueEvent.at < end)
        .order_by(QueueEvent.at, QueueEvent.id)
    )
    if queues is not None:
        statement = statement.where(QueueEvent.queue.in_(list(queues)))
    logged: dict[str, float] = defaultdict(float)
    paused: dict[str, float] = defaultdict(float)
    since: dict[tuple[str, str], datetime] = {}
    paused_since: dict[tuple[str, str], datetime] = {}
    for event in session.scalars(statement):
        key = (event.queue or "", event.member or "")
        member = key[1]
        reason = str(event.data.get("PausedReason", "")).lower()
        work_pause = reason.startswith("acw") or reason.startswith("after-call")
        if event.event == "QueueMemberAdded":
            since[key] = event.at
            if event.data.get("Paused") == "1":
                paused_since[key] = event.at
        elif event.event == "QueueMemberRemoved" and key in since:
            logged[member] += _clip(since.pop(key), event.at, start, end)
            if key in paused_since:
                paused[member] += _clip(paused_since.pop(key), event.at, start, end)
        elif event.event == "QueueMemberPause":
            if event.data.get("Paused") == "1" and not work_pause:
                paused_since.setdefault(key, event.at)
            elif event.data.get("Paused") != "1" and key in paused_since:
                paused[member] += _clip(paused_since.pop(key), event.at, start, end)
    for key, began in since.items():
        logged[key[1]] += _clip(began, end, start, end)
    for key, began in paused_since.items():
        paused[key[1]] += _clip(began, end, start, end)
    busy: dict[str, float] = defaultdict(float)
    grace = timedelta(seconds=5)
    for row in visits(session, start - timedelta(hours=12), end, queues):
        if row.outcome == "answered" and row.agent and row.answered_at and row.answered_at >= start:
            busy[row.agent] += (row.talk_s or 0) + row.hold_s + after_call_work(session, row, grace)
    members = sorted(set(logged) | set(busy))
    out = []
    for member in members:
        available = max(0.0, logged[member] - paused[member])
        out.append(
            AgentTime(
                member=member,
                logged_in_s=round(logged[member], 1),
                available_s=round(available, 1),
                busy_s=round(busy[member], 1),
                occupancy=round(100.0 * busy[member] / available, 1) if available else None,
            )
        )
    return out


def callback_counts(
    session: Session, start: datetime, end: datetime, branches: Iterable[str] | None
) -> dict[str, int]:
    """Callbacks owed in the period: how many were placed, connected, failed, still waiting."""
    statement = select(Callback).where(Callback.created_at >= start, Callback.created_at < end)
    if branches is not None:
        statement = statement.where(Callback.branch.in_(list(branches)))
    rows = session.scalars(statement).all()
    return {
        "owed": len(rows),
        "placed": sum(1 for row in rows if row.attempts > 0),
        "connected": sum(1 for row in rows if row.status.value == "connected"),
        "failed": sum(1 for row in rows if row.status.value == "failed"),
        "waiting": sum(1 for row in rows if row.status.value in ("waiting", "dialing")),
    }
