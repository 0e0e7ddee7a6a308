"""Duplicate detection across channels: one requester, several open requests, any channel."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tawasul.models import Channel, Request
from tawasul.workflow import OPEN_STATUSES, RequestStatus


@dataclass(frozen=True, slots=True)
class OpenDuplicate:
    """Another open request of the same requester: what a request's page shows of it."""

    id: int
    reference_number: str
    channel: Channel
    branch: str
    status: RequestStatus


_OPEN_OF_REQUESTERS = (
    select(
        Request.requester_id,
        Request.id,
        Request.reference_number,
        Request.channel,
        Request.branch,
        Request.status,
    )
    .where(Request.requester_id.in_(bindparam("requester_ids", expanding=True)))
    .where(Request.status.in_(sorted(OPEN_STATUSES)))
    .order_by(Request.created_at, Request.id)
)
"""Built once: the columns shown, not whole requests (a page's requesters have many)."""


def open_duplicates(
    session: Session, requests: Iterable[Request]
) -> dict[int, list[OpenDuplicate]]:
    """For each request, the other open requests of the same requester, oldest first.

    Whatever the channel (a phone call and a fax, a portal submission and a walk-in) and the
    branch: the agent decides what to merge or cancel. A request without a requester yet (a fax
    not transcribed) has none. One query for a whole page of requests.
    """
    wanted = list(requests)
    requester_ids = {r.requester_id for r in wanted if r.requester_id is not None}
    answer: dict[int, list[OpenDuplicate]] = {r.id: [] for r in wanted}
    if not requester_ids:
        return answer
    by_requester: dict[int, list[OpenDuplicate]] = defaultdict(list)
    for requester_id, ident, reference, channel, branch, status in session.execute(
        _OPEN_OF_REQUESTERS, {"requester_ids": sorted(requester_ids)}
    ):
        assert requester_id is not None  # filtered above
        by_requester[requester_id].append(OpenDuplicate(ident, reference, channel, branch, status))
    for request in wanted:
        if request.requester_id is not None:
            answer[request.id] = [
                other for other in by_requester[request.requester_id] if other.id != request.id
            ]
    return answer
