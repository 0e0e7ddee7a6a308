"""Duplicate detection across channels: one requester, several open requests, any channel."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.models import Request
from tawasul.workflow import OPEN_STATUSES


def open_duplicates(session: Session, requests: Iterable[Request]) -> dict[int, list[Request]]:
    """For each request, the other open requests of the same requester, oldest first.

    Whatever the channel (a phone call and a fax, a portal submission and a walk-in) and the
    branch: the agent decides what to merge or cancel. A request without a requester yet (a fax
    not transcribed) has none. One query for a whole page of requests.
    """
    wanted = list(requests)
    requester_ids = {r.requester_id for r in wanted if r.requester_id is not None}
    answer: dict[int, list[Request]] = {r.id: [] for r in wanted}
    if not requester_ids:
        return answer
    by_requester: dict[int, list[Request]] = defaultdict(list)
    for found in session.scalars(
        select(Request)
        .where(Request.requester_id.in_(requester_ids))
        .where(Request.status.in_(OPEN_STATUSES))
        .order_by(Request.created_at, Request.id)
    ):
        assert found.requester_id is not None  # filtered above
        by_requester[found.requester_id].append(found)
    for request in wanted:
        if request.requester_id is not None:
            answer[request.id] = [
                other for other in by_requester[request.requester_id] if other.id != request.id
            ]
    return answer
