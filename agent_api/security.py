"""``/security/events``: the security events of a period, for an incident report (admins)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask.typing import ResponseReturnValue

from agent_api import parsing
from agent_api.exports import FORMATS, LANG_PARAM, language, table
from agent_api.metrics import _ERRORS, _param
from agent_api.services import db, services, user
from tawasul.errors import ValidationError
from tawasul.models import utcnow
from tawasul.permissions import Action, require
from tawasul.security_log import export, kind_name

bp = Blueprint("security", __name__)


@bp.get("/security/events")
def security_events() -> ResponseReturnValue:
    """Failed sign-ins, lockouts, refused AMI actions, portal refusals, permission denials."""
    require(user(), Action.MANAGE_USERS)
    args = parsing.query({"from", "to", "format", "lang"})
    zone = ZoneInfo(services().settings.timezone)
    today = utcnow().astimezone(zone).date()
    first = parsing.day(args, "from") or today
    last = parsing.day(args, "to") or first
    if last < first or (last - first).days > 366:
        raise ValidationError("to", "on or after from, at most 366 days later")
    fmt = args.get("format", "json")
    if fmt not in FORMATS:
        raise ValidationError("format", f"one of {', '.join(FORMATS)}")
    lang = language(args)
    start = datetime.combine(first, time(0, 0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), zone)
    rows = export(db(), start, end)
    for row in rows:
        # The period is the centre's days: the times in it are the centre's too.
        row["at"] = datetime.fromisoformat(row["at"]).astimezone(zone).isoformat()
    if fmt == "json":
        return table(rows, fmt, f"security-events-{first}-{last}", ("at", "kind", "actor"))
    # A person reads it: the kind's name beside its code (which integrations keep reading).
    named = [{**row, "kind_name": kind_name(row["kind"], lang)} for row in rows]
    columns = ("at", "kind", "actor", "kind_name")
    return table(named, fmt, f"security-events-{first}-{last}", columns)


OPENAPI_PATHS: dict[str, Any] = {
    "/security/events": {
        "get": {
            "summary": "Security events of a period (admins), for an incident report",
            "parameters": [
                _param("from", {"type": "string", "format": "date"}),
                _param("to", {"type": "string", "format": "date"}),
                _param("format", {"type": "string", "enum": ["json", "csv", "xlsx"]}),
                LANG_PARAM,
            ],
            "responses": {
                "200": {"description": "the events", "content": {"application/json": {}}},
                **_ERRORS,
            },
        }
    }
}
