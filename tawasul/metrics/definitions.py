"""Each figure's definition as data: the formula, the unit and where it is written down, so an
API client (and the console, beside each tile) shows what a number means without guessing.

The words are docs/metrics.md's; the formulas name the fields of ``CallFigures`` and the
settings they depend on. A test keeps every figure of ``CallFigures`` defined here.
"""

from __future__ import annotations

from typing import Any

from tawasul.config import Settings

SOURCE = "docs/metrics.md"


def call_definitions(settings: Settings) -> dict[str, dict[str, Any]]:
    """The definition of every queue figure of ``/metrics/calls``, with today's settings.

    Args:
        settings: the thresholds in force (service level, short abandon, capacity).

    Returns:
        Per figure: ``formula``, ``unit`` and ``source`` (a section of docs/metrics.md), and the
        parameters the formula uses.
    """
    queue = f"{SOURCE}#queue-figures"
    threshold = {"threshold_s": settings.service_level_threshold_s}
    short = {"short_abandon_s": settings.short_abandon_s}
    return {
        "offered": {
            "formula": "visits that joined the queue in the period, interrupted ones excluded",
            "unit": "calls",
            "source": queue,
        },
        "answered": {"formula": "visits an agent connected to", "unit": "calls", "source": queue},
        "answered_within_threshold": {
            "formula": "answered visits whose wait <= threshold_s",
            "unit": "calls",
            "source": queue,
            **threshold,
        },
        "abandoned": {
            "formula": "visits the caller hung up while waiting, after short_abandon_s or more",
            "unit": "calls",
            "source": f"{SOURCE}#outcomes-of-a-visit",
            **short,
        },
        "short_abandoned": {
            "formula": "visits the caller hung up while waiting, before short_abandon_s",
            "unit": "calls",
            "source": f"{SOURCE}#outcomes-of-a-visit",
            **short,
        },
        "callbacks": {
            "formula": "visits that left the queue for a place-keeping callback",
            "unit": "calls",
            "source": f"{SOURCE}#outcomes-of-a-visit",
        },
        "exited": {
            "formula": "other visits that left without an agent (queue timeout, exit key)",
            "unit": "calls",
            "source": f"{SOURCE}#outcomes-of-a-visit",
        },
        "service_level": {
            "formula": "100 * answered_within_threshold / (answered + abandoned)",
            "unit": "%",
            "source": queue,
            **threshold,
            "target_percent": 80,
        },
        "asa_s": {
            "formula": "mean(wait) of the answered visits",
            "unit": "s",
            "source": queue,
        },
        "aht_s": {
            "formula": "mean(talk + hold + after-call work) of the answered visits",
            "unit": "s",
            "source": queue,
        },
        "abandonment_rate": {
            "formula": "100 * abandoned / (answered + abandoned)",
            "unit": "%",
            "source": queue,
            **short,
        },
        "longest_wait_s": {
            "formula": "max(wait) of the counted visits",
            "unit": "s",
            "source": queue,
        },
        "calls_per_hour": {
            "formula": "offered / hours in the period",
            "unit": "calls/h",
            "source": queue,
            "capacity_per_hour": settings.capacity_per_hour,
        },
        "capacity_per_hour": {
            "formula": "the callers an hour the centre is staffed for (setting)",
            "unit": "calls/h",
            "source": queue,
        },
        "inbound": {
            "formula": "every IVR call that started in the period, once, by its first ending "
            "(tawasul.metrics.inbound.ENDINGS)",
            "unit": "calls",
            "source": f"{SOURCE}#inbound-calls",
        },
    }
