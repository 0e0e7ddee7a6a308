"""Erlang C against published worked examples and the formula's own identities."""

from __future__ import annotations

import math

import pytest

from tawasul.metrics.erlang import (
    agents_needed,
    average_speed_of_answer,
    erlang_c,
    service_level,
)


def erlang_c_by_factorials(traffic: float, agents: int) -> float:
    """The textbook formula, term by term (fine for small teams)."""
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    bottom = sum(traffic**k / math.factorial(k) for k in range(agents)) + top
    return top / bottom


@pytest.mark.parametrize(
    "traffic, agents, published",
    [
        # 10 Erlangs (e.g. 200 calls an hour of 3 minutes): the standard table values.
        (10, 11, 0.6821),
        (10, 12, 0.4494),
        (10, 13, 0.2853),
        (10, 14, 0.1741),
        (2, 3, 0.4444),  # 2 Erlangs on 3 agents: 4/9
        (1, 2, 0.3333),  # 1 Erlang on 2 agents: 1/3
    ],
)
def test_probability_of_waiting_matches_published_tables(
    traffic: float, agents: int, published: float
) -> None:
    assert erlang_c(traffic, agents) == pytest.approx(published, abs=5e-5)


@pytest.mark.parametrize("traffic, agents", [(0.5, 1), (3.7, 5), (25.2, 30), (80.0, 95)])
def test_recursion_equals_the_factorial_formula(traffic: float, agents: int) -> None:
    assert erlang_c(traffic, agents) == pytest.approx(erlang_c_by_factorials(traffic, agents))


def test_the_classic_80_in_20_example() -> None:
    # 100 calls in 30 minutes (200 an hour), 180 s handling time, 80 % within 20 s:
    # 14 agents, who answer 88.8 % within 20 s, with an average speed of answer of 7.8 s.
    staffing = agents_needed(200, 180, target_s=20, target_level=0.8)
    assert staffing.agents == 14
    assert staffing.traffic_erlangs == pytest.approx(10)
    assert staffing.service_level == pytest.approx(0.8884, abs=5e-4)
    assert staffing.average_speed_of_answer_s == pytest.approx(7.84, abs=0.01)
    assert staffing.occupancy == pytest.approx(10 / 14)
    # One agent fewer misses the target: that is why 14 is the answer.
    assert service_level(10, 13, 180, 20) < 0.8


def test_the_seed_centre_hour() -> None:
    # 80 callers an hour, 6 minutes each, answered within a minute 80 % of the time.
    staffing = agents_needed(80, 360, target_s=60, target_level=0.8)
    assert staffing.traffic_erlangs == pytest.approx(8)
    assert staffing.agents == 11
    assert service_level(8, 10, 360, 60) < 0.8 <= staffing.service_level


def test_overloaded_team_never_meets_a_target() -> None:
    assert erlang_c(5, 5) == 1.0
    assert service_level(5, 4, 180, 20) == 0.0
    assert average_speed_of_answer(5, 5, 180) == math.inf


@pytest.mark.parametrize("arguments", [(-1, 180), (10, 0), (10, 180, 20, 1.0), (10, 180, 20, 0)])
def test_nonsense_is_refused(arguments: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        agents_needed(*arguments)
