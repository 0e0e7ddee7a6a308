"""``/queues/live``: the branch queues right now, for the supervisor's wall screen.

Waiting callers, the longest wait and the agents by state come from Asterisk (``QueueSummary``,
``QueueStatus``); the day's figures are ``/metrics``' own, fetched by the page from there.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from agent_api.services import console, db, services, telephony_available, user
from tawasul.casefile import pending_callbacks
from tawasul.errors import TelephonyUnavailable
from tawasul.permissions import Action, require, visible_branches
from tawasul.presence import branch_queue

log = logging.getLogger(__name__)

bp = Blueprint("queues", __name__, url_prefix="/queues")

SERVICE_LEVEL_TARGET = 80
"""The share of calls to answer within the threshold: /metrics/staffing's default target."""


@bp.get("/live")
def live() -> ResponseReturnValue:
    """Per branch: callers waiting, longest wait, agents by state, callbacks pending."""
    me = user()
    require(me, Action.VIEW_FIGURES)
    visible = visible_branches(me)
    branches = sorted(visible) if visible is not None else list(services().settings.branches)
    callbacks = pending_callbacks(db(), branches)
    db().commit()  # the read is over: no database lock held while Asterisk answers
    telephony = telephony_available()
    membership = console().membership if telephony else None
    items: list[dict[str, Any]] = []
    for branch in branches:
        row: dict[str, Any] = {
            "branch": branch,
            "queue": branch_queue(branch),
            "callbacks_pending": callbacks[branch],
            "live": None,
        }
        if membership is not None:
            try:
                snapshot = membership.snapshot(branch_queue(branch))
            except TelephonyUnavailable as exc:
                log.warning("live queue %s unavailable: %s", branch, exc)
            else:
                row["live"] = {
                    "waiting": snapshot.waiting,
                    "longest_wait_s": snapshot.longest_wait_s,
                    "agents_by_state": snapshot.agents_by_state(),
                    "members": [
                        {
                            "name": member.name,
                            "paused": member.paused,
                            "reason": member.reason or None,
                            "in_call": member.in_call,
                            "available": member.available,
                            "since": member.since.isoformat() if member.since else None,
                        }
                        for member in snapshot.members
                    ],
                }
        items.append(row)
    settings = services().settings
    targets = {
        "threshold_s": settings.service_level_threshold_s,
        "service_level_percent": SERVICE_LEVEL_TARGET,
        "capacity_per_hour": settings.capacity_per_hour,
    }
    return jsonify({"items": items, "telephony": telephony, "targets": targets})


OPENAPI_PATHS: dict[str, Any] = {
    "/queues/live": {
        "get": {
            "summary": "Live queues: waiting, longest wait, agents by state, callbacks pending",
            "responses": {
                "200": {"description": "one item per branch; live is null without Asterisk"},
                "401": {"description": "no valid credentials"},
                "403": {"description": "figures are for supervisors and admins"},
            },
        }
    }
}
