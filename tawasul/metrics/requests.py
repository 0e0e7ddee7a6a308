"""Request figures: how many, by which channel and for whom, how fast decided and forwarded."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.forwarding import cutoff_moment
from tawasul.models import (
    Appointment,
    AppointmentSlot,
    AppointmentStatus,
    MeetingMode,
    Request,
    RequestEvent,
    SmsMessage,
    SmsStatus,
)
from tawasul.workflow import RequestStatus

DECISIONS = (RequestStatus.APPROVED, RequestStatus.REJECTED)


@dataclass(frozen=True)
class RequestFigures:
    """The request figures of one local day."""

    day: str
    received: int
    by_channel: dict[str, int]
    by_category: dict[str, int]
    """man, woman, company, and "unknown" for requests not yet classified."""
    by_branch: dict[str, int]
    by_status: dict[str, int]
    decided: int
    decision_hours_median: float | None
    """Median time from received to approved or rejected, of the requests decided so far."""
    same_day_forwarding_rate: float | None
    """Requests received before the day's cut-off (and after the previous day's) forwarded by
    the cut-off, in %: the centre's "every request forwarded the same day"."""
    video_call_hours: dict[str, float]
    """Hours of video meetings held or booked that day, by requester category."""
    sms_sent: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly."""
        return {
            key: round(value, 1) if isinstance(value, float) else value
            for key, value in self.__dict__.items()
        }


def _local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), zone)
    return start, start + timedelta(days=1)


def day_figures(
    session: Session,
    day: date,
    zone: ZoneInfo,
    cutoff: str,
    branches: Collection[str] | None = None,
) -> RequestFigures:
    """The request figures of one local day (of some branches, or all)."""
    start, end = _local_day_bounds(day, zone)

    def of_branches(statement: Any) -> Any:  # any SELECT that involves Request
        return statement if branches is None else statement.where(Request.branch.in_(branches))

    requests = session.scalars(
        of_branches(select(Request).where(Request.created_at >= start, Request.created_at < end))
    ).all()
    decided_at: dict[int, datetime] = {}
    for event in session.scalars(
        select(RequestEvent)
        .where(RequestEvent.request_id.in_([r.id for r in requests]))
        .where(RequestEvent.to_status.in_(DECISIONS))
        .order_by(RequestEvent.at)
    ):
        decided_at.setdefault(event.request_id, event.at)
    decision_hours = [
        (decided_at[r.id] - r.created_at).total_seconds() / 3600
        for r in requests
        if r.id in decided_at
    ]
    window_start = cutoff_moment(day - timedelta(days=1), cutoff, zone)
    window_end = cutoff_moment(day, cutoff, zone)
    due = session.scalars(
        of_branches(
            select(Request).where(
                Request.created_at >= window_start, Request.created_at < window_end
            )
        )
    ).all()
    on_time = [r for r in due if r.forwarded_at is not None and r.forwarded_at <= window_end]
    video: defaultdict[str, float] = defaultdict(float)
    for _appointment, slot, request in session.execute(
        of_branches(select(Appointment, AppointmentSlot, Request))
        .join(AppointmentSlot, Appointment.slot_id == AppointmentSlot.id)
        .join(Request, Appointment.request_id == Request.id)
        .where(AppointmentSlot.mode == MeetingMode.VIDEO)
        .where(AppointmentSlot.starts_at >= start, AppointmentSlot.starts_at < end)
        .where(Appointment.status != AppointmentStatus.CANCELLED)
    ):
        category = request.category.value if request.category else "unknown"
        video[category] += (slot.ends_at - slot.starts_at).total_seconds() / 3600
    sms = session.scalars(
        of_branches(select(SmsMessage.id).join(Request, SmsMessage.request_id == Request.id))
        .where(SmsMessage.sent_at >= start, SmsMessage.sent_at < end)
        .where(SmsMessage.status.in_((SmsStatus.SENT, SmsStatus.DELIVERED)))
    ).all()
    return RequestFigures(
        day=day.isoformat(),
        received=len(requests),
        by_channel=dict(Counter(r.channel.value for r in requests)),
        by_category=dict(Counter(r.category.value if r.category else "unknown" for r in requests)),
        by_branch=dict(Counter(r.branch for r in requests)),
        by_status=dict(Counter(r.status.value for r in requests)),
        decided=len(decision_hours),
        decision_hours_median=statistics.median(decision_hours) if decision_hours else None,
        same_day_forwarding_rate=100.0 * len(on_time) / len(due) if due else None,
        video_call_hours=dict(video),
        sms_sent=len(sms),
    )


def days(
    session: Session,
    first: date,
    last: date,
    zone: ZoneInfo,
    cutoff: str,
    branches: Collection[str] | None = None,
) -> list[RequestFigures]:
    """The request figures of each day from ``first`` to ``last`` inclusive."""
    out = []
    day = first
    while day <= last:
        out.append(day_figures(session, day, zone, cutoff, branches))
        day += timedelta(days=1)
    return out


MAX_HOURLY_DAYS = 31
"""Hour by hour is for a day or a month at most (24 rows a day, empty hours included)."""


def hours(
    session: Session,
    first: date,
    last: date,
    zone: ZoneInfo,
    branches: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Requests received in each local hour from ``first`` to ``last`` inclusive, by channel.

    Every hour is listed, empty ones with zeros, so a chart of a day has its 24 bars.

    Args:
        session: only read.
        first: the first local day.
        last: the last local day (at most :data:`MAX_HOURLY_DAYS` days after ``first``).
        zone: the centre's time zone.
        branches: the branches counted; None for all.

    Returns:
        ``{"start": <local hour, ISO>, "received": n, "by_channel": {channel: n}}`` per hour.
    """
    start = datetime.combine(first, time(0, 0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), zone)
    statement = select(Request.created_at, Request.channel).where(
        Request.created_at >= start, Request.created_at < end
    )
    if branches is not None:
        statement = statement.where(Request.branch.in_(list(branches)))
    buckets: dict[datetime, Counter[str]] = defaultdict(Counter)
    for created_at, channel in session.execute(statement):
        local = created_at.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        buckets[local][channel.value] += 1
    out: list[dict[str, Any]] = []
    day = first
    while day <= last:
        for hour in range(24):
            moment = datetime.combine(day, time(hour, 0), zone)
            counts = buckets.get(moment, Counter())
            out.append(
                {
                    "start": moment.isoformat(),
                    "received": sum(counts.values()),
                    "by_channel": dict(counts),
                }
            )
        day += timedelta(days=1)
    return out
