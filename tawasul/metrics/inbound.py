"""Every inbound call counted once, by how it ended (docs/metrics.md, "Inbound calls").

The queue figures count queue visits only; a call the phone menu handled end to end (a request
filed, a status heard, a voice message left) never joins a queue, so it was counted nowhere.
Here each IVR ``Call`` gets exactly one ending, the first that applies in this order:

========================  =====================================================================
``in_progress``           not ended yet
``answered_by_agent``     a queue visit of the call was answered (``AgentConnect``)
``callback``              the caller left a callback instead of waiting (queued or out of hours)
``abandoned_in_queue``    the caller hung up while waiting in the queue
``request_filed``         the menu filed a request (a voice message with it included)
``voice_message``         a follow-up caller left a voice message on their request
``status_heard``          a follow-up caller heard their request's status
``no_agent``              sent to the queue, which refused the caller or no agent answered
``sent_to_agent``         sent to the queue, no visit recorded (the events recorder was down)
``out_of_hours``          called while the centre was closed and hung up
``failed``                the menu failed (the dialplan's failure path took the call)
``hung_up_in_menu``       hung up in the menu before any of the above
========================  =====================================================================

A call belongs to the branch of its request, else of the queue it joined, else to the centre's
default branch (the phone menu's).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.metrics.calls import bucket_start
from tawasul.models import Call, Callback, CallOutcome, QueueCall, Request

ENDINGS = (
    "in_progress",
    "answered_by_agent",
    "callback",
    "abandoned_in_queue",
    "request_filed",
    "voice_message",
    "status_heard",
    "no_agent",
    "sent_to_agent",
    "out_of_hours",
    "failed",
    "hung_up_in_menu",
)
"""Every way an inbound call can end, in the order they are tried."""

QUEUE_PREFIX = "tawasul-"


@dataclass(frozen=True)
class InboundCall:
    """One inbound call, where it belongs and how it ended."""

    call_id: int
    started_at: datetime
    branch: str
    ending: str


def ending(call: Call, visits: list[QueueCall], has_callback: bool) -> str:
    """How one call ended (one of :data:`ENDINGS`).

    Args:
        call: the IVR's call, with its outcome and journey.
        visits: the call's queue visits.
        has_callback: a callback was booked from the call.

    Returns:
        The first ending of :data:`ENDINGS` that applies.
    """
    steps = {str(entry.get("step", "")) for entry in call.journey or []}
    outcomes = {visit.outcome for visit in visits}
    if call.outcome == CallOutcome.IN_PROGRESS and call.ended_at is None:
        return "in_progress"
    if "answered" in outcomes:
        return "answered_by_agent"
    if has_callback or steps & {"queue_callback_booked", "callback_booked"}:
        return "callback"
    if "abandoned" in outcomes:
        return "abandoned_in_queue"
    if call.outcome == CallOutcome.REQUEST_FILED:
        return "request_filed"
    if "voice_message_recorded" in steps and "status_told" in steps:
        return "voice_message"
    if "status_told" in steps:
        return "status_heard"
    if call.outcome == CallOutcome.NO_AGENT or visits:
        return "no_agent"
    if call.outcome == CallOutcome.SENT_TO_AGENT:
        return "sent_to_agent"
    if "out_of_hours" in steps:
        return "out_of_hours"
    if call.outcome == CallOutcome.FAILED:
        return "failed"
    return "hung_up_in_menu"


def inbound_calls(
    session: Session,
    start: datetime,
    end: datetime,
    branches: Collection[str] | None,
    default_branch: str,
) -> list[InboundCall]:
    """The inbound calls that started in [start, end), of some branches (None: all).

    Args:
        session: only read.
        start: inclusive, aware.
        end: exclusive, aware.
        branches: the branches asked for; None for every branch.
        default_branch: the branch of a call with neither request nor queue visit.

    Returns:
        Each call once, oldest first, with its branch and ending.
    """
    calls = list(
        session.scalars(
            select(Call)
            .where(Call.started_at >= start, Call.started_at < end)
            .order_by(Call.started_at, Call.id)
        )
    )
    ids = [call.id for call in calls]
    visits: dict[int, list[QueueCall]] = defaultdict(list)
    booked: set[int] = set()
    request_branch: dict[int, str] = {}
    if ids:
        for visit in session.scalars(select(QueueCall).where(QueueCall.call_id.in_(ids))):
            if visit.call_id is not None:
                visits[visit.call_id].append(visit)
        booked = {
            int(found)
            for found in session.scalars(select(Callback.call_id).where(Callback.call_id.in_(ids)))
            if found is not None
        }
        request_ids = sorted({call.request_id for call in calls if call.request_id is not None})
        if request_ids:
            request_branch = {
                rid: branch
                for rid, branch in session.execute(
                    select(Request.id, Request.branch).where(Request.id.in_(request_ids))
                )
            }
    found: list[InboundCall] = []
    for call in calls:
        own = visits[call.id]
        if call.request_id is not None and call.request_id in request_branch:
            branch = request_branch[call.request_id]
        elif own:
            branch = own[0].queue.removeprefix(QUEUE_PREFIX)
        else:
            branch = default_branch
        if branches is not None and branch not in branches:
            continue
        found.append(
            InboundCall(call.id, call.started_at, branch, ending(call, own, call.id in booked))
        )
    return found


def by_ending(calls: list[InboundCall]) -> dict[str, int]:
    """How many calls ended each way (every ending listed, zeros too)."""
    counted = Counter(call.ending for call in calls)
    return {name: counted.get(name, 0) for name in ENDINGS}


def by_bucket(
    calls: list[InboundCall], granularity: str, zone: ZoneInfo
) -> list[tuple[datetime, dict[str, int]]]:
    """The calls of each hour, day, week or month (local), oldest first, by ending."""
    groups: dict[datetime, list[InboundCall]] = defaultdict(list)
    for call in calls:
        groups[bucket_start(call.started_at, granularity, zone)].append(call)
    return [(moment, by_ending(rows)) for moment, rows in sorted(groups.items())]
