"""When a request falls due: the same-day forwarding window's cut-off, then the service target."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tawasul.models import Request, Role
from tawasul.workflow import RequestStatus
from tawasul.worklist import DuePolicy, DueState, WorkView, default_view

RIYADH = ZoneInfo("Asia/Riyadh")
POLICY = DuePolicy(RIYADH, "20:00", timedelta(hours=24))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=RIYADH)


def request(created: datetime, forwarded: datetime | None = None, status=RequestStatus.RECEIVED):
    return Request(created_at=created, forwarded_at=forwarded, status=status)


@pytest.mark.parametrize(
    ("created", "cutoff"),
    [
        (at(25, 9), at(25, 20)),
        (at(25, 19, 59), at(25, 20)),
        (at(25, 20), at(26, 20)),  # at the cut-off: the next day's window
        (at(25, 23, 30), at(26, 20)),
    ],
)
def test_the_cutoff_is_that_of_the_same_day_window(created, cutoff):
    assert POLICY.window_cutoff(created) == cutoff


@pytest.mark.parametrize(
    ("now", "state"),
    [(at(25, 18, 59), DueState.OK), (at(25, 19, 0), DueState.NEAR), (at(25, 20), DueState.OVERDUE)],
)
def test_near_is_the_last_hour_and_overdue_from_the_moment_on(now, state):
    due = POLICY.due(request(at(25, 9)), now)
    assert due is not None and due.state == state and due.kind.value == "forwarding_cutoff"


def test_once_forwarded_the_service_target_counts_and_a_closed_request_owes_nothing():
    due = POLICY.due(request(at(25, 9), forwarded=at(25, 9, 5)), at(26, 8, 30))
    assert due is not None
    assert (due.kind.value, due.at, due.state) == ("service_target", at(26, 9), DueState.NEAR)
    assert POLICY.due(request(at(25, 9), status=RequestStatus.COMPLETED), at(27, 9)) is None


def test_default_views():
    assert default_view(Role.AGENT) == WorkView.NEW_WORK
    assert default_view(Role.SUPERVISOR) == WorkView.AWAITING_DECISION
    assert default_view(Role.ADMIN) == WorkView.AWAITING_DECISION
