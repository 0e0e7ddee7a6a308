"""Turning Asterisk's queue and agent events into ``QueueEvent`` and ``QueueCall`` rows.

Idempotent: an event is applied only when its row is new, so replaying a stream (a reconnect
that re-reads, a second listener) changes nothing. Across an Asterisk restart the calls that
were in flight are closed as "interrupted" when Asterisk announces its shutdown or its new boot,
and never counted twice: the new Asterisk gives new channels new uniqueids.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tawasul.models import Call, QueueCall, QueueEvent, utcnow

log = logging.getLogger(__name__)

QUEUE_EVENTS = frozenset(
    {
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "AgentRingNoAnswer",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberPause",
        "Hold",
        "Unhold",
        "Shutdown",
        "FullyBooted",
    }
)
KEPT_FIELDS = (
    "Position",
    "Count",
    "HoldTime",
    "TalkTime",
    "RingTime",
    "Reason",
    "Paused",
    "PausedReason",
    "Interface",
    "MemberName",
    "Linkedid",
    "DestUniqueid",
    "Uptime",
)


def event_time(event: Mapping[str, str]) -> datetime:
    """Asterisk's timestamp of the event (``Timestamp: 1732761234.123456``), or now."""
    raw = event.get("Timestamp")
    try:
        return datetime.fromtimestamp(float(raw), UTC) if raw else utcnow()
    except ValueError:
        return utcnow()


def event_key(event: Mapping[str, str]) -> str:
    """The replay guard: the same event from Asterisk always gives the same key."""
    parts = (
        event.get("Event", ""),
        event.get("Uniqueid", ""),
        event.get("Queue", ""),
        event.get("Interface", event.get("MemberName", "")),
        event.get("Timestamp", ""),
        event.get("Paused", ""),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def ingest(session: Session, event: Mapping[str, str]) -> bool:
    """Record one AMI event and apply it to the queue visits; False when already recorded."""
    name = event.get("Event", "")
    if name not in QUEUE_EVENTS:
        return False
    if name in ("Hold", "Unhold") and not _in_a_queue_call(session, event.get("Uniqueid", "")):
        return False  # holds outside queue calls (IVR, callbacks) are not ours to count
    at = event_time(event)
    row = QueueEvent(
        key=event_key(event),
        event=name,
        queue=event.get("Queue"),
        uniqueid=event.get("Uniqueid"),
        member=event.get("Interface") or event.get("MemberName"),
        at=at,
        data={field: event[field] for field in KEPT_FIELDS if field in event},
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        session.rollback()
        return False
    _apply(session, row)
    session.commit()
    return True


def _in_a_queue_call(session: Session, uniqueid: str) -> bool:
    return (
        session.scalar(
            select(QueueCall.id).where(
                QueueCall.uniqueid == uniqueid, QueueCall.outcome == "answered"
            )
        )
        is not None
    )


def _open_visit(session: Session, uniqueid: str | None, queue: str | None) -> QueueCall | None:
    statement = select(QueueCall).where(QueueCall.uniqueid == (uniqueid or ""))
    if queue:
        statement = statement.where(QueueCall.queue == queue)
    return session.scalars(statement.order_by(QueueCall.joined_at.desc()).limit(1)).first()


def _visit_of_agent_leg(session: Session, row: QueueEvent) -> QueueCall | None:
    """The visit an ``AgentComplete`` without the caller's fields ends.

    Asterisk leaves the caller's fields out when the caller's channel is already gone (the
    caller hung up first, the usual end of a call). When the agent's leg is still there
    (``DestUniqueid``), it names the ``AgentConnect`` that started the conversation, and that
    event names the caller. When both channels are gone, only the member and the talk time
    are left: the member's conversation in this queue that is still open, the one whose
    answer plus ``TalkTime`` comes nearest the event (with ``ringinuse = no`` it is the only one).
    """
    leg = row.data.get("DestUniqueid")
    if leg:
        connects = session.scalars(
            select(QueueEvent)
            .where(QueueEvent.event == "AgentConnect")
            .where(QueueEvent.queue == row.queue)
            .where(QueueEvent.member == row.member)
            .order_by(QueueEvent.id.desc())
            .limit(20)
        )
        for connect in connects:
            if connect.data.get("DestUniqueid") == leg and connect.uniqueid:
                return _open_visit(session, connect.uniqueid, row.queue)
    if not row.member:
        return None
    talking = session.scalars(
        select(QueueCall)
        .where(QueueCall.queue == (row.queue or ""))
        .where(QueueCall.agent == row.member)
        .where(QueueCall.outcome == "answered")
        .where(QueueCall.ended_at.is_(None))
        .where(QueueCall.answered_at <= row.at)
        .order_by(QueueCall.answered_at.desc())
    ).all()
    if not talking:
        return None
    try:
        talk = timedelta(seconds=float(row.data.get("TalkTime", "")))
    except ValueError:
        return talking[0]
    return min(talking, key=lambda visit: abs(row.at - talk - (visit.answered_at or row.at)))


def _apply(session: Session, row: QueueEvent) -> None:
    at = row.at
    if row.event == "Shutdown":
        _interrupt_open_visits(session, at)
        return
    if row.event == "FullyBooted":
        # A crash announces no shutdown: whatever was open before this boot was cut off.
        uptime = float(row.data.get("Uptime", "0") or 0)
        _interrupt_open_visits(session, at - timedelta(seconds=uptime))
        return
    visit = _open_visit(session, row.uniqueid, row.queue)
    if visit is None and row.event == "AgentComplete" and not row.uniqueid:
        visit = _visit_of_agent_leg(session, row)
    if row.event == "QueueCallerJoin":
        call = session.scalar(select(Call).where(Call.uniqueid == row.uniqueid))
        session.add(
            QueueCall(
                uniqueid=row.uniqueid or "",
                queue=row.queue or "",
                call_id=call.id if call else None,
                request_id=call.request_id if call else None,
                joined_at=at,
                outcome="waiting",
            )
        )
        return
    if visit is None:
        return
    if row.event == "AgentConnect" and visit.outcome in ("waiting", "exited"):
        visit.answered_at = at
        visit.wait_s = (at - visit.joined_at).total_seconds()
        visit.agent = row.member
        visit.outcome = "answered"
    elif row.event == "QueueCallerAbandon" and visit.outcome == "waiting":
        visit.left_at = at
        visit.wait_s = (at - visit.joined_at).total_seconds()
        visit.outcome = "abandoned"
    elif row.event == "QueueCallerLeave":
        visit.left_at = visit.left_at or at
        if visit.outcome == "waiting":
            # Left without an agent and without hanging up: a timeout, a key pressed to leave
            # (a callback keeps its place this way), or an answer whose AgentConnect follows.
            visit.outcome = "exited"
            visit.wait_s = (at - visit.joined_at).total_seconds()
    elif row.event == "AgentComplete" and visit.outcome == "answered":
        visit.ended_at = at
        if visit.answered_at is not None:
            visit.talk_s = (at - visit.answered_at).total_seconds() - visit.hold_s
        if visit.hold_started_at is not None:
            visit.hold_s += (at - visit.hold_started_at).total_seconds()
            visit.hold_started_at = None
    elif row.event == "Hold" and visit.outcome == "answered" and visit.hold_started_at is None:
        visit.hold_started_at = at
    elif row.event == "Unhold" and visit.hold_started_at is not None:
        visit.hold_s += (at - visit.hold_started_at).total_seconds()
        visit.hold_started_at = None


SHUTDOWN_CUT = timedelta(seconds=3)
"""``core stop now`` hangs up every channel before it announces ``Shutdown``: a caller
"abandoning" in the last moments before the announcement was cut off by the restart."""


def _interrupt_open_visits(session: Session, at: datetime) -> None:
    open_visits = list(
        session.scalars(
            select(QueueCall).where(QueueCall.outcome == "waiting").where(QueueCall.joined_at < at)
        )
    )
    open_visits += session.scalars(
        select(QueueCall)
        .where(QueueCall.outcome == "answered")
        .where(QueueCall.ended_at.is_(None))
        .where(QueueCall.joined_at < at)
    ).all()
    open_visits += session.scalars(
        select(QueueCall)
        .where(QueueCall.outcome == "abandoned")
        .where(QueueCall.left_at >= at - SHUTDOWN_CUT, QueueCall.left_at <= at)
    ).all()
    for visit in open_visits:
        if visit.outcome in ("waiting", "abandoned"):
            visit.outcome = "interrupted"
        elif visit.answered_at is not None:
            visit.talk_s = (at - visit.answered_at).total_seconds() - visit.hold_s
        visit.ended_at = visit.ended_at or at
    if open_visits:
        log.warning("Asterisk restarted: %d queue visits closed as interrupted", len(open_visits))
