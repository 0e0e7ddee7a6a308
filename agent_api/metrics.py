"""``/metrics`` and ``/reports``: the figures supervisors watch, as JSON, CSV or XLSX.

Every figure is computed by ``tawasul.metrics`` (defined in docs/metrics.md); these views only
choose the period, the branch and the format.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from agent_api import parsing
from agent_api.exports import (
    FORMATS,
    LANG_PARAM,
    LAYOUT_PARAM,
    language,
    layout,
    long_rows,
    table,
    with_names,
)
from agent_api.openapi_parts import error
from agent_api.services import db, services, user
from tawasul.display_names import DisplayNames
from tawasul.errors import NotFound, ValidationError
from tawasul.metrics.calls import (
    GRANULARITIES,
    CallFigures,
    agent_times,
    callback_counts,
    figures,
    series,
    visits,
)
from tawasul.metrics.definitions import call_definitions
from tawasul.metrics.erlang import agents_needed
from tawasul.metrics.inbound import by_bucket, by_ending, inbound_calls
from tawasul.metrics.report import daily_report
from tawasul.metrics.requests import MAX_HOURLY_DAYS, RequestFigures, days, hours
from tawasul.models import Report, utcnow
from tawasul.permissions import Action, require, visible_branches

bp = Blueprint("metrics", __name__)

MAX_DAYS = 366


def _zone() -> ZoneInfo:
    return ZoneInfo(services().settings.timezone)


def _branches() -> list[str]:
    """The branches the user may see, narrowed by ``branch=`` if given."""
    require(user(), Action.VIEW_FIGURES)
    visible = visible_branches(user())
    allowed = sorted(visible) if visible is not None else list(services().settings.branches)
    return allowed


def _period(args: dict[str, str]) -> tuple[date, date]:
    today = utcnow().astimezone(_zone()).date()
    first = parsing.day(args, "from") or today
    last = parsing.day(args, "to") or first
    if last < first or (last - first).days >= MAX_DAYS:
        raise ValidationError("to", f"on or after from, at most {MAX_DAYS} days later")
    return first, last


def _chosen(args: dict[str, str]) -> list[str]:
    branches = _branches()
    branch = parsing.text(args, "branch", max_len=32)
    if branch is None:
        return branches
    if branch not in branches:
        raise NotFound("no such branch")
    return [branch]


@bp.get("/metrics/calls")
def call_metrics() -> ResponseReturnValue:
    """Queue figures per hour, day, week or month, for the user's branches; with
    ``layout=long`` a CSV or XLSX is one fact a row, the inbound calls by ending included."""
    args = parsing.query({"from", "to", "by", "branch", "format", "layout"})
    first, last = _period(args)
    granularity = args.get("by", "day")
    if granularity not in GRANULARITIES:
        raise ValidationError("by", f"one of {', '.join(GRANULARITIES)}")
    fmt = args.get("format", "json")
    if fmt not in FORMATS:
        raise ValidationError("format", f"one of {', '.join(FORMATS)}")
    shape = layout(args)
    zone = _zone()
    settings = services().settings
    start = datetime.combine(first, time(0, 0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), zone)
    queues = [f"tawasul-{branch}" for branch in _chosen(args)]
    options = {
        "threshold_s": settings.service_level_threshold_s,
        "short_abandon_s": settings.short_abandon_s,
        "capacity_per_hour": settings.capacity_per_hour,
    }
    rows = [
        {"start": moment.isoformat(), **result.as_dict()}
        for moment, result in series(db(), start, end, granularity, zone, queues, **options)
    ]
    if fmt == "json":
        hours = (end - start).total_seconds() / 3600
        total = figures(db(), visits(db(), start, end, queues), hours, **options)
        branches = [queue.removeprefix("tawasul-") for queue in queues]
        calls = inbound_calls(db(), start, end, branches, settings.default_branch)
        return jsonify(
            {
                "items": rows,
                "total": total.as_dict(),
                "agents": [vars(agent) for agent in agent_times(db(), start, end, queues)],
                "callbacks": callback_counts(db(), start, end, branches),
                "queues": queues,
                "inbound": {"total": len(calls), "by_ending": by_ending(calls)},
                "inbound_items": [
                    {"start": moment.isoformat(), "ending": name, "calls": count}
                    for moment, counts in by_bucket(calls, granularity, zone)
                    for name, count in counts.items()
                    if count
                ],
                "definitions": "docs/metrics.md",
                "definitions_by_figure": call_definitions(settings),
            }
        )
    columns = ["start", *(f.name for f in fields(CallFigures))]
    if shape == "long":
        branches = [queue.removeprefix("tawasul-") for queue in queues]
        calls = inbound_calls(db(), start, end, branches, settings.default_branch)
        inbound = {
            moment.isoformat(): counts for moment, counts in by_bucket(calls, granularity, zone)
        }
        rows = [{**row, "inbound": inbound.pop(row["start"], {})} for row in rows]
        rows += [{"start": moment, "inbound": counts} for moment, counts in inbound.items()]
        rows.sort(key=lambda row: str(row["start"]))
        names = DisplayNames.configured(settings)
        facts = [*columns[1:], "inbound"]
        rows, long_columns = long_rows(rows, ["start"], facts, {}, names, language(args))
        rows = [row for row in rows if row["value"] is not None]  # no figure, no fact
        return table(rows, fmt, f"calls-{first}-{last}", long_columns)
    return table(rows, fmt, f"calls-{first}-{last}", columns)


@bp.get("/metrics/requests")
def request_metrics() -> ResponseReturnValue:
    """Request figures per day (channels, categories, decisions, same-day forwarding), or the
    requests received per hour (``by=hour``); CSV and XLSX one fact a row with ``layout=long``."""
    args = parsing.query({"from", "to", "branch", "format", "lang", "by", "layout"})
    first, last = _period(args)
    fmt = args.get("format", "json")
    if fmt not in FORMATS:
        raise ValidationError("format", f"one of {', '.join(FORMATS)}")
    by = args.get("by", "day")
    if by not in ("day", "hour"):
        raise ValidationError("by", "one of day, hour")
    shape = layout(args)
    lang = language(args)
    settings = services().settings
    if by == "hour":
        if (last - first).days >= MAX_HOURLY_DAYS:
            raise ValidationError("to", f"by hour: at most {MAX_HOURLY_DAYS} days")
        rows = hours(db(), first, last, _zone(), _chosen(args))
        keys, columns = ["start"], ["start", "received", "by_channel"]
    else:
        rows = [
            figures_.as_dict()
            for figures_ in days(db(), first, last, _zone(), settings.forward_cutoff, _chosen(args))
        ]
        keys, columns = ["day"], [f.name for f in fields(RequestFigures)]
    names = DisplayNames.configured(settings)
    if fmt != "json" and shape == "long":  # one fact a row: no split packed in a cell
        facts = [column for column in columns if column not in keys]
        rows, columns = long_rows(rows, keys, facts, NAMED_COLUMNS, names, lang)
    elif fmt != "json":  # a person reads it: display names beside the codes
        rows, columns = with_names(rows, columns, NAMED_COLUMNS, names, lang)
    return table(rows, fmt, f"requests-{first}-{last}", columns)


NAMED_COLUMNS = {
    "by_channel": "channel",
    "by_branch": "branch",
    "by_category": "category",
    "by_status": "status",
    "video_call_hours": "category",
}
"""The columns of the request figures keyed by a code that has display names."""


@bp.get("/metrics/staffing")
def staffing() -> ResponseReturnValue:
    """Erlang C: agents the next hour needs for the service-level target."""
    require(user(), Action.VIEW_FIGURES)
    args = parsing.query({"calls_per_hour", "aht_s", "target_s", "target_level"})
    settings = services().settings
    calls = parsing.integer(args, "calls_per_hour", low=0, high=100_000, required=True)
    aht = parsing.integer(args, "aht_s", low=1, high=36_000, required=True)
    target = parsing.integer(args, "target_s", low=0, high=3_600)
    level = parsing.integer(args, "target_level", low=1, high=99)
    result = agents_needed(
        float(calls or 0),
        float(aht or 1),
        target_s=float(target if target is not None else settings.service_level_threshold_s),
        target_level=(level or 80) / 100,
    )
    return jsonify(
        {k: round(v, 3) if isinstance(v, float) else v for k, v in result.__dict__.items()}
    )


@bp.get("/reports/daily")
def daily() -> ResponseReturnValue:
    """The daily report for the ministry (HTML), generated if the job has not yet."""
    require(user(), Action.VIEW_FIGURES)
    if visible_branches(user()) is not None:
        require(user(), Action.ALL_BRANCHES)  # the report covers every branch
    args = parsing.query({"day", "lang"})
    day = parsing.day(args, "day") or utcnow().astimezone(_zone()).date()
    lang = language(args)
    report = db().scalar(
        select(Report).where(Report.kind == "daily", Report.day == day.isoformat())
    )
    if report is None or lang.value not in report.content.get("html_by_language", {}):
        # Not generated yet, or stored before the report had a page per language.
        report = daily_report(db(), day, services().settings)
    page = report.content["html_by_language"][lang.value]
    return Response(str(page), mimetype="text/html")


def _param(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


_DAY = {"type": "string", "format": "date"}
_FORMAT = {"type": "string", "enum": list(FORMATS)}
_BRANCH = {"type": "string", "maxLength": 32}
_ERRORS = {
    code: error(text)
    for code, text in {
        "401": "no valid credentials",
        "403": "figures are for supervisors and admins",
        "404": "a branch the user may not see",
        "422": "a parameter that is invalid or unknown",
    }.items()
}


def _get(summary: str, params: list[dict[str, Any]], media: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {"200": {"description": "the figures", "content": {media: {}}}, **_ERRORS},
        }
    }


OPENAPI_PATHS: dict[str, Any] = {
    "/metrics/calls": _get(
        "Queue figures per period (docs/metrics.md); JSON adds inbound {total, by_ending}: "
        "every IVR call by how it ended, inbound_items [{start, ending, calls}] per period, and "
        "definitions_by_figure {figure: {formula, unit, source, ...}}",
        [
            _param("from", _DAY),
            _param("to", _DAY),
            _param("by", {"type": "string", "enum": list(GRANULARITIES)}),
            _param("branch", _BRANCH),
            _param("format", _FORMAT),
            LAYOUT_PARAM,
        ],
        "application/json",
    ),
    "/metrics/requests": _get(
        "Request figures per day (docs/metrics.md), or by=hour: received per local hour "
        "(every hour listed; at most 31 days)",
        [
            _param("from", _DAY),
            _param("to", _DAY),
            _param("branch", _BRANCH),
            _param("format", _FORMAT),
            _param("by", {"type": "string", "enum": ["day", "hour"]}),
            LANG_PARAM,
            LAYOUT_PARAM,
        ],
        "application/json",
    ),
    "/metrics/staffing": _get(
        "Erlang C: agents needed for the service-level target",
        [
            _param("calls_per_hour", {"type": "integer", "minimum": 0, "maximum": 100000}, True),
            _param("aht_s", {"type": "integer", "minimum": 1, "maximum": 36000}, True),
            _param("target_s", {"type": "integer", "minimum": 0, "maximum": 3600}),
            _param("target_level", {"type": "integer", "minimum": 1, "maximum": 99}),
        ],
        "application/json",
    ),
    "/reports/daily": _get(
        "The daily report for the ministry (admins), in lang",
        [_param("day", _DAY), LANG_PARAM],
        "text/html",
    ),
}
