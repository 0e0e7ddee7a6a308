"""Same-day forwarding of every request to the ministry's system, and the late report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tawasul.delivery import Done, Failed, Outcome
from tawasul.models import OutboxMessage, Report, Request, utcnow
from tawasul.pii import PiiProtector
from tawasul.ports import DeliveryError, Forwarder

log = logging.getLogger(__name__)


def request_document(request: Request, pii: PiiProtector) -> dict[str, Any]:
    """The request as the ministry receives it (its current state)."""
    requester = request.requester
    return {
        "reference": request.reference_number,
        "channel": request.channel.value,
        "status": request.status.value,
        "category": request.category.value if request.category else None,
        "target_official": request.target_official,
        "meeting_mode": request.meeting_mode.value if request.meeting_mode else None,
        "branch": request.branch,
        "language": request.language.value,
        "received_at": request.created_at.isoformat(),
        "requester": {
            "national_id": (
                pii.decrypt(requester.national_id_encrypted, "national_id") if requester else None
            ),
            "callback_number": request.callback_number,
        },
    }


class ForwardingDelivery:
    """Delivers one outbox FORWARD row; the receiver deduplicates on the idempotency key."""

    def __init__(
        self, forwarder: Forwarder, pii: PiiProtector, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._forwarder = forwarder
        self._pii = pii
        self._clock = clock

    def deliver(self, session: Session, row: OutboxMessage) -> Outcome:
        """Send the request's current state; remember when it first reached the ministry.

        Raises:
            DeliveryError: (not permanent) when the receiver may accept it later.
        """
        request = session.get(Request, row.request_id) if row.request_id else None
        if request is None:
            return Failed("the request no longer exists")
        try:
            self._forwarder.forward(request_document(request, self._pii), f"outbox-{row.id}")
        except DeliveryError as exc:
            if exc.permanent:
                return Failed(f"receiver refused: {exc}")
            raise
        if request.forwarded_at is None:
            request.forwarded_at = self._clock()
        session.commit()
        log.info("request %s forwarded", request.reference_number)
        return Done()


def cutoff_moment(day: date, cutoff: str, zone: ZoneInfo) -> datetime:
    """The cut-off of ``day`` (local time) as an aware datetime."""
    return datetime.combine(day, time.fromisoformat(cutoff), zone)


def late_forwarding(session: Session, day: date, cutoff: str, zone: ZoneInfo) -> list[str]:
    """Reference numbers received on ``day`` before its cut-off and not forwarded by then.

    A request received after the cut-off is counted on the next day's report: it could not
    have been forwarded by a cut-off that had already passed.
    """
    start = datetime.combine(day, time(0, 0), zone)
    end = cutoff_moment(day, cutoff, zone)
    rows = session.scalars(
        select(Request.reference_number)
        .where(Request.created_at >= start - _previous_tail(day, cutoff, zone, start))
        .where(Request.created_at < end)
        .where(or_(Request.forwarded_at.is_(None), Request.forwarded_at > end))
        .order_by(Request.created_at)
    )
    return list(rows)


def _previous_tail(day: date, cutoff: str, zone: ZoneInfo, start: datetime) -> timedelta:
    # Requests that came after yesterday's cut-off belong to today's report.
    return start - cutoff_moment(day - timedelta(days=1), cutoff, zone)


def write_late_report(session: Session, day: date, cutoff: str, zone: ZoneInfo) -> Report:
    """Store the late-forwarding report of ``day`` (one per day; re-running replaces it)."""
    late = late_forwarding(session, day, cutoff, zone)
    report = session.scalar(
        select(Report).where(Report.kind == "late_forwarding", Report.day == day.isoformat())
    )
    if report is None:
        report = Report(kind="late_forwarding", day=day.isoformat(), created_at=utcnow())
        session.add(report)
    report.content = {"cutoff": cutoff, "late": late, "count": len(late)}
    session.commit()
    if late:
        log.warning("%d requests of %s not forwarded by %s", len(late), day, cutoff)
    return report
