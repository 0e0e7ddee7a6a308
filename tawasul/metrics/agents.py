"""The supervisor's per-agent table: each agent's state now, how long they have been in it, the
call they are on, and their day (calls answered, average handling time, pauses by reason).

The state comes from Asterisk now (``QueueStatus``, through the presence port) when it can be
asked; the day comes from what the events recorder stored (``queue_event``, ``queue_call``):
the same rows the queue figures are computed from, so the table and ``/metrics/calls`` agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.masking import mask_phone
from tawasul.models import Call, QueueCall, QueueEvent
from tawasul.presence import MemberStatus

MEMBER_EVENTS = ("QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause")
ACW_GRACE = timedelta(seconds=5)
"""As for the queue figures' AHT: after-call work starts within 5 s of the call's end."""


class AgentState:
    """The states of the per-agent table (strings, as the API gives them)."""

    ON_CALL = "on_call"
    READY = "ready"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"
    LOGGED_OUT = "logged_out"
    UNKNOWN = "unknown"
    """Asterisk could not be asked and nothing was recorded."""


@dataclass(frozen=True)
class PauseTally:
    """One pause reason's share of an agent's day."""

    reason: str
    count: int
    seconds: float


@dataclass(frozen=True)
class CurrentCall:
    """The queue call an agent is on now."""

    since: datetime
    caller_masked: str | None


@dataclass(frozen=True)
class AgentDay:
    """One agent's row of the table."""

    interface: str
    state: str
    reason: str | None
    since: datetime | None
    current_call: CurrentCall | None
    calls_today: int
    aht_s: float | None
    pauses_today: list[PauseTally] = field(default_factory=list)


def _reason(event: QueueEvent) -> str:
    return str(event.data.get("PausedReason", "")) or "other"


def _pauses(events: list[QueueEvent], start: datetime, now: datetime) -> list[PauseTally]:
    """Pauses begun since ``start`` per reason: how many, and their seconds up to ``now``."""
    counts: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    open_pause: tuple[str, datetime] | None = None
    for event in events:
        paused = event.event == "QueueMemberPause" and event.data.get("Paused") == "1"
        paused = paused or (event.event == "QueueMemberAdded" and event.data.get("Paused") == "1")
        if open_pause is not None and (not paused or event.event == "QueueMemberRemoved"):
            reason, began = open_pause
            seconds[reason] += (event.at - max(began, start)).total_seconds()
            open_pause = None
        if paused and open_pause is None:
            open_pause = (_reason(event), event.at)
            if event.at >= start:
                counts[open_pause[0]] += 1
    if open_pause is not None:
        reason, began = open_pause
        seconds[reason] += max(0.0, (now - max(began, start)).total_seconds())
    reasons = sorted(set(counts) | {r for r, s in seconds.items() if s > 0})
    return [PauseTally(r, counts[r], round(seconds[r], 1)) for r in reasons]


def _after_call_work(visit: QueueCall, events: list[QueueEvent]) -> float:
    """:func:`tawasul.metrics.calls.after_call_work` on events already read (no query a call):
    a pause whose reason starts "acw" or "after-call", begun within the grace of the call's
    end, up to the unpause."""
    if visit.ended_at is None:
        return 0.0
    ended = visit.ended_at
    later = [
        e
        for e in events
        if e.event == "QueueMemberPause" and ended <= e.at <= ended + timedelta(hours=2)
    ]
    if not later or later[0].data.get("Paused") != "1" or later[0].at - ended > ACW_GRACE:
        return 0.0
    reason = str(later[0].data.get("PausedReason", "")).lower()
    if not (reason.startswith("acw") or reason.startswith("after-call")):
        return 0.0
    for event in later[1:]:
        if event.data.get("Paused") != "1":
            return (event.at - later[0].at).total_seconds()
    return 0.0


def _aht(visits: list[QueueCall], events: list[QueueEvent]) -> float | None:
    """Average handling time of an agent's answered calls (docs/metrics.md): mean of talk +
    hold + after-call work of those that ended; None before the first one ends."""
    handled = [
        (visit.talk_s or 0.0) + visit.hold_s + _after_call_work(visit, events)
        for visit in visits
        if visit.talk_s is not None
    ]
    return sum(handled) / len(handled) if handled else None


def _recorded_state(events: list[QueueEvent]) -> tuple[str, str | None, datetime] | None:
    """The state the last recorded member event left the agent in, and since when."""
    if not events:
        return None
    last = events[-1]
    if last.event == "QueueMemberRemoved":
        return AgentState.LOGGED_OUT, None, last.at
    if last.data.get("Paused") == "1":
        return AgentState.PAUSED, _reason(last), last.at
    return AgentState.READY, None, last.at


def agent_days(
    session: Session,
    queue: str,
    interfaces: Collection[str],
    live: dict[str, MemberStatus] | None,
    start: datetime,
    now: datetime,
) -> dict[str, AgentDay]:
    """The table's rows of some agents of one queue.

    Args:
        session: only read.
        queue: the branch queue, e.g. ``tawasul-riyadh``.
        interfaces: the agents' softphones (their ``extension``).
        live: Asterisk's members of the queue by interface now, or None when Asterisk could not
            be asked (the state then comes from the recorded events, else ``unknown``).
        start: the start of the agents' day (local midnight), aware.
        now: the present moment.

    Returns:
        A row per interface.
    """
    wanted = sorted(set(interfaces))
    if not wanted:
        return {}
    events: dict[str, list[QueueEvent]] = defaultdict(list)
    for event in session.scalars(
        select(QueueEvent)
        .where(QueueEvent.event.in_(MEMBER_EVENTS), QueueEvent.queue == queue)
        .where(QueueEvent.member.in_(wanted), QueueEvent.at <= now)
        .where(QueueEvent.at >= start - timedelta(days=1))
        .order_by(QueueEvent.at, QueueEvent.id)
    ):
        events[event.member or ""].append(event)
    answered: dict[str, list[QueueCall]] = defaultdict(list)
    talking: dict[str, QueueCall] = {}
    for visit in session.scalars(
        select(QueueCall)
        .where(QueueCall.queue == queue, QueueCall.agent.in_(wanted))
        .where(
            QueueCall.outcome == "answered", QueueCall.answered_at >= start - timedelta(hours=12)
        )
        .order_by(QueueCall.answered_at)
    ):
        agent = visit.agent or ""
        if visit.answered_at is not None and visit.answered_at >= start:
            answered[agent].append(visit)
        if visit.ended_at is None:
            talking[agent] = visit
    callers = {
        call.id: call.caller_id
        for call in session.scalars(
            select(Call).where(
                Call.id.in_([v.call_id for v in talking.values() if v.call_id is not None])
            )
        )
    }
    rows: dict[str, AgentDay] = {}
    for interface in wanted:
        own = events.get(interface, [])
        on = talking.get(interface)
        current = (
            CurrentCall(on.answered_at, mask_phone(callers.get(on.call_id or 0)) or None)
            if on is not None and on.answered_at is not None
            else None
        )
        recorded = _recorded_state(own)
        state, reason, since = _state(live, interface, recorded, current)
        today = answered.get(interface, [])
        ends = [v.ended_at for v in today if v.ended_at is not None]
        if state == AgentState.READY and ends and (since is None or max(ends) > since):
            since = max(ends)  # back from a call: ready since it ended, not since the login
        rows[interface] = AgentDay(
            interface=interface,
            state=state,
            reason=reason,
            since=since,
            current_call=current,
            calls_today=len(today),
            aht_s=_aht(today, own),
            pauses_today=_pauses(own, start, now),
        )
    return rows


def with_live_state(day: AgentDay, live: dict[str, MemberStatus]) -> AgentDay:
    """The row with its state as Asterisk reports it now (the recorder's stays otherwise).

    Args:
        day: the row from the recorded events (:func:`agent_days` without ``live``).
        live: the queue's members by interface, from ``QueueStatus``.

    Returns:
        The row with state, reason and since from Asterisk where it knows better.
    """
    recorded = None
    if day.state in (AgentState.READY, AgentState.PAUSED, AgentState.LOGGED_OUT):
        recorded = (day.state, day.reason, day.since) if day.since is not None else None
    state, reason, since = _state(live, day.interface, recorded, day.current_call)
    if state == AgentState.READY and day.state == AgentState.READY and day.since is not None:
        since = day.since  # the recorder knows when the last call ended
    return replace(day, state=state, reason=reason, since=since)


def _state(
    live: dict[str, MemberStatus] | None,
    interface: str,
    recorded: tuple[str, str | None, datetime] | None,
    current: CurrentCall | None,
) -> tuple[str, str | None, datetime | None]:
    """State, pause reason and since: Asterisk's word first, the recorder's when it is silent."""
    if live is None:
        if current is not None:
            return AgentState.ON_CALL, None, current.since
        if recorded is None:
            return AgentState.UNKNOWN, None, None
        return recorded
    member = live.get(interface)
    since = recorded[2] if recorded is not None else None
    if member is None:
        gone = recorded is not None and recorded[0] == AgentState.LOGGED_OUT
        return AgentState.LOGGED_OUT, None, since if gone else None
    if member.in_call:
        return AgentState.ON_CALL, None, current.since if current else member.since
    if member.paused:
        matches = recorded is not None and recorded[0] == AgentState.PAUSED
        return AgentState.PAUSED, member.reason or None, since if matches else member.since
    if not member.available:
        return AgentState.UNAVAILABLE, None, member.since
    matches = recorded is not None and recorded[0] == AgentState.READY
    return AgentState.READY, None, since if matches else member.since
