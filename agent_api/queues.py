"""``/queues/live``: the branch queues right now, for the supervisor's wall screen.

Waiting callers, the longest wait and the agents by state come from Asterisk (``QueueSummary``,
``QueueStatus``); the day's figures are ``/metrics``' own, fetched by the page from there.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from agent_api import parsing
from agent_api.services import console, db, services, telephony_available, user
from tawasul.casefile import pending_callbacks
from tawasul.errors import TelephonyUnavailable
from tawasul.masking import mask_phone
from tawasul.metrics.agents import AgentDay, agent_days, with_live_state
from tawasul.models import Callback, CallbackStatus, Request, User, utcnow
from tawasul.permissions import Action, require, visible_branches
from tawasul.presence import MemberStatus, branch_queue

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
                row["alerts"] = alerts(snapshot.waiting, snapshot.longest_wait_s)
        row.setdefault("alerts", [])
        items.append(row)
    settings = services().settings
    targets = {
        "threshold_s": settings.service_level_threshold_s,
        "service_level_percent": SERVICE_LEVEL_TARGET,
        "capacity_per_hour": settings.capacity_per_hour,
        "alert_waiting_callers": settings.alert_waiting_callers,
        "alert_longest_wait_s": settings.service_level_threshold_s,
        "sources": ALERT_SOURCES,
    }
    return jsonify({"items": items, "telephony": telephony, "targets": targets})


ALERT_SOURCES = {
    "alert_waiting_callers": "setting alert_waiting_callers (default 3): at the centre's ~80 "
    "callers an hour (capacity_per_hour), about 1.3 arrive within the minute a caller should "
    "wait at most; more than twice that waiting means the queue is falling behind",
    "alert_longest_wait_s": "setting service_level_threshold_s (default 60): the centre's "
    "'waiting under a minute' (docs/metrics.md)",
}
"""Where the alert thresholds come from, sent beside them."""


def alerts(waiting: int, longest_wait_s: int) -> list[dict[str, Any]]:
    """The threshold alerts of a branch queue now (none: nothing to act on).

    Each is ``{"kind": "waiting_callers"|"longest_wait", "value", "threshold"}``.
    """
    settings = services().settings
    found: list[dict[str, Any]] = []
    if waiting > settings.alert_waiting_callers:
        found.append(
            {
                "kind": "waiting_callers",
                "value": waiting,
                "threshold": settings.alert_waiting_callers,
            }
        )
    if longest_wait_s > settings.service_level_threshold_s:
        found.append(
            {
                "kind": "longest_wait",
                "value": longest_wait_s,
                "threshold": settings.service_level_threshold_s,
            }
        )
    return found


def _branches() -> list[str]:
    me = user()
    require(me, Action.VIEW_FIGURES)
    visible = visible_branches(me)
    return sorted(visible) if visible is not None else list(services().settings.branches)


@bp.get("/agents")
def agents() -> ResponseReturnValue:
    """Per agent who takes calls: state, time in state, current call, calls today, AHT, pauses."""
    parsing.query(())
    branches = _branches()
    settings = services().settings
    zone = ZoneInfo(settings.timezone)
    now = utcnow()
    start = datetime.combine(now.astimezone(zone).date(), time(0, 0), zone)
    staff = list(
        db().scalars(
            select(User)
            .where(User.branch.in_(branches), User.is_active.is_(True))
            .where(User.takes_calls.is_(True))
            .order_by(User.branch, User.username)
        )
    )
    telephony = telephony_available()
    membership = console().membership if telephony else None
    by_branch: dict[str, dict[str, MemberStatus] | None] = {}
    days: dict[str, dict[str, AgentDay]] = {}
    for branch in branches:
        mine = [
            person.extension for person in staff if person.branch == branch and person.extension
        ]
        days[branch] = agent_days(db(), branch_queue(branch), mine, None, start, now)
    db().commit()  # the read is over: no database lock held while Asterisk answers
    for branch in branches:
        live: dict[str, MemberStatus] | None = None
        if membership is not None:
            try:
                snapshot = membership.snapshot(branch_queue(branch))
            except TelephonyUnavailable as exc:
                log.warning("live queue %s unavailable: %s", branch, exc)
            else:
                live = {member.interface: member for member in snapshot.members}
        by_branch[branch] = live
    items = []
    for person in staff:
        day = days[person.branch].get(person.extension or "")
        live = by_branch[person.branch]
        if day is not None and live is not None:
            day = with_live_state(day, live)
        items.append(_dump_agent(person, day, now))
    return jsonify({"items": items, "telephony": telephony, "day_starts": start.isoformat()})


def _dump_agent(person: User, day: AgentDay | None, now: datetime) -> dict[str, Any]:
    since = day.since if day is not None else None
    current = day.current_call if day is not None else None
    return {
        "user": {"id": person.id, "name": person.username, "role": person.role.value},
        "branch": person.branch,
        "interface": person.extension,
        "state": day.state if day is not None else "no_extension",
        "reason": day.reason if day is not None else None,
        "since": since.isoformat() if since else None,
        "time_in_state_s": max(0, int((now - since).total_seconds())) if since else None,
        "current_call": (
            {"since": current.since.isoformat(), "caller_masked": current.caller_masked}
            if current is not None
            else None
        ),
        "calls_today": day.calls_today if day is not None else 0,
        "aht_s": round(day.aht_s, 1) if day is not None and day.aht_s is not None else None,
        "pauses_today": [
            {"reason": tally.reason, "count": tally.count, "seconds": tally.seconds}
            for tally in (day.pauses_today if day is not None else [])
        ],
    }


@bp.get("/callbacks")
def callbacks() -> ResponseReturnValue:
    """Callbacks waiting (queued or being dialled), oldest first, with their age and attempts."""
    parsing.query(())
    branches = _branches()
    now = utcnow()
    rows = (
        db()
        .execute(
            select(Callback, Request.reference_number)
            .outerjoin(Request, Request.id == Callback.request_id)
            .where(
                Callback.branch.in_(branches),
                Callback.status.in_([CallbackStatus.WAITING, CallbackStatus.DIALING]),
            )
            .order_by(Callback.queued_at, Callback.id)
        )
        .all()
    )
    return jsonify(
        {
            "items": [
                {
                    "id": callback.id,
                    "branch": callback.branch,
                    "request_id": callback.request_id,
                    "reference_number": reference,
                    "number_masked": mask_phone(callback.number),
                    "status": callback.status.value,
                    "queued_at": callback.queued_at.isoformat(),
                    "age_s": max(0, int((now - callback.queued_at).total_seconds())),
                    "due_at": callback.due_at.isoformat(),
                    "attempts": callback.attempts,
                    "max_attempts": callback.max_attempts,
                    "last_result": callback.last_result,
                    "position": callback.position,
                }
                for callback, reference in rows
            ]
        }
    )


OPENAPI_PATHS: dict[str, Any] = {
    "/queues/live": {
        "get": {
            "summary": "Live queues: waiting, longest wait, agents by state, callbacks pending",
            "responses": {
                "200": {
                    "description": "one item per branch (live is null without Asterisk; alerts: "
                    "[{kind: waiting_callers|longest_wait, value, threshold}]); targets with "
                    "the alert thresholds and their sources"
                },
                "401": {"description": "no valid credentials"},
                "403": {"description": "figures are for supervisors and admins"},
            },
        }
    },
    "/queues/agents": {
        "get": {
            "summary": "Per agent who takes calls: state (on_call, ready, paused, unavailable, "
            "logged_out, unknown, no_extension), reason, since, time_in_state_s, current_call "
            "{since, caller_masked}, calls_today, aht_s, pauses_today [{reason, count, seconds}]",
            "responses": {
                "200": {"description": "items, telephony, day_starts"},
                "401": {"description": "no valid credentials"},
                "403": {"description": "figures are for supervisors and admins"},
                "422": {"description": "an unknown parameter"},
            },
        }
    },
    "/queues/callbacks": {
        "get": {
            "summary": "Callbacks waiting or being dialled, oldest first: age_s, attempts, "
            "max_attempts, last_result, position, number_masked",
            "responses": {
                "200": {"description": "items"},
                "401": {"description": "no valid credentials"},
                "403": {"description": "figures are for supervisors and admins"},
                "422": {"description": "an unknown parameter"},
            },
        }
    },
}
