"""Erlang C: how many agents the next hour needs to meet a service-level target."""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a caller waits (Erlang C), for ``traffic`` Erlangs and ``agents``.

    Computed through the Erlang B recursion, which stays exact for hundreds of agents where
    the factorial formula overflows. 1.0 when the agents cannot carry the traffic.
    """
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return agents * blocking / (agents - traffic * (1 - blocking))


def service_level(traffic: float, agents: int, aht_s: float, target_s: float) -> float:
    """Share of callers answered within ``target_s``: 1 - P(wait) * e^(-(N-A) * T / AHT)."""
    if agents <= traffic:
        return 0.0
    waiting = erlang_c(traffic, agents)
    return 1 - waiting * math.exp(-(agents - traffic) * target_s / aht_s)


def average_speed_of_answer(traffic: float, agents: int, aht_s: float) -> float:
    """Mean wait of all callers: P(wait) * AHT / (N - A)."""
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * aht_s / (agents - traffic)


@dataclass(frozen=True)
class Staffing:
    """The smallest team that meets the target, and what it achieves."""

    agents: int
    traffic_erlangs: float
    service_level: float
    probability_of_waiting: float
    average_speed_of_answer_s: float
    occupancy: float


def agents_needed(
    calls_per_hour: float, aht_s: float, target_s: float = 60, target_level: float = 0.8
) -> Staffing:
    """Fewest agents for ``target_level`` of calls answered within ``target_s``.

    Args:
        calls_per_hour: the expected arrivals of the hour.
        aht_s: average handling time (talk + hold + after-call work), seconds.
        target_s: the answer-time threshold of the service level.
        target_level: the share to answer within it, 0..1.
    """
    if calls_per_hour < 0 or aht_s <= 0 or not 0 < target_level < 1:
        raise ValueError("calls_per_hour >= 0, aht_s > 0 and 0 < target_level < 1")
    traffic = calls_per_hour * aht_s / 3600
    agents = max(1, math.floor(traffic) + 1)
    while service_level(traffic, agents, aht_s, target_s) < target_level:
        agents += 1
    return Staffing(
        agents=agents,
        traffic_erlangs=traffic,
        service_level=service_level(traffic, agents, aht_s, target_s),
        probability_of_waiting=erlang_c(traffic, agents),
        average_speed_of_answer_s=average_speed_of_answer(traffic, agents, aht_s),
        occupancy=traffic / agents,
    )
