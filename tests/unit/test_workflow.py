"""The request workflow: every (from, to) pair of statuses, allowed or refused."""

from __future__ import annotations

import itertools

import pytest

from tawasul.errors import IllegalTransition
from tawasul.workflow import (
    OPEN_STATUSES,
    TRANSITIONS,
    RequestStatus,
    allowed_transitions,
    check_transition,
)

S = RequestStatus

# The documented workflow, written out again so that a change to TRANSITIONS is a test change.
EXPECTED: dict[str, set[str]] = {
    "received": {"in_review", "cancelled"},
    "in_review": {"identity_verified", "received", "rejected", "cancelled"},
    "identity_verified": {"approved", "rejected", "cancelled"},
    "approved": {"scheduled", "cancelled"},
    "scheduled": {"scheduled", "completed", "no_show", "cancelled"},  # scheduled: reschedule
    "rejected": set(),
    "completed": set(),
    "no_show": set(),
    "cancelled": set(),
}
TERMINAL = {"rejected", "completed", "no_show", "cancelled"}


def test_status_values_are_stable():
    # The values are stored in the database and returned by the API.
    assert {status.value for status in RequestStatus} == set(EXPECTED)
    for value in EXPECTED:
        assert RequestStatus(value).value == value
        assert RequestStatus(value) == value  # a StrEnum compares equal to its text


def test_every_status_has_an_entry():
    assert set(TRANSITIONS) == set(RequestStatus)


@pytest.mark.parametrize(
    ("current", "target"),
    list(itertools.product(RequestStatus, RequestStatus)),
    ids=lambda status: status.value,
)
def test_transition_is_allowed_or_refused_with_the_allowed_targets(current, target):
    allowed = EXPECTED[current.value]
    if target.value in allowed:
        check_transition(current, target)
        return
    with pytest.raises(IllegalTransition) as err:
        check_transition(current, target)
    error = err.value
    assert error.current == current.value
    assert error.target == target.value
    assert error.allowed == sorted(allowed)
    assert error.error_id == "illegal-transition"
    assert str(error) == (
        f"cannot go from {current.value} to {target.value}; allowed: {', '.join(sorted(allowed))}"
    )


@pytest.mark.parametrize("current", list(RequestStatus), ids=lambda status: status.value)
def test_allowed_transitions_are_sorted_values(current):
    result = allowed_transitions(current)
    assert result == sorted(EXPECTED[current.value])
    assert all(type(item) is str for item in result)


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_terminal_statuses_have_no_way_out(status):
    assert allowed_transitions(RequestStatus(status)) == []
    assert TRANSITIONS[RequestStatus(status)] == frozenset()
    for target in RequestStatus:
        with pytest.raises(IllegalTransition) as err:
            check_transition(RequestStatus(status), target)
        assert err.value.allowed == []


def test_open_statuses():
    assert OPEN_STATUSES == {
        S.RECEIVED,
        S.IN_REVIEW,
        S.IDENTITY_VERIFIED,
        S.APPROVED,
        S.SCHEDULED,
    }
    assert OPEN_STATUSES.isdisjoint(RequestStatus(status) for status in TERMINAL)


def test_every_status_is_reachable_from_received_and_every_open_one_can_end():
    def reachable(start: RequestStatus) -> set[RequestStatus]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in TRANSITIONS[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    assert reachable(S.RECEIVED) == set(RequestStatus)
    for status in OPEN_STATUSES:
        assert S.CANCELLED in TRANSITIONS[status]  # a requester can always withdraw
        assert reachable(status) & {RequestStatus(t) for t in TERMINAL}
