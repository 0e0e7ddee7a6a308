"""``/slots``: the branches' calendars of appointment slots."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from agent_api import parsing
from agent_api.openapi_parts import (
    ITEMS,
    answer,
    enum_of,
    operation,
    query_param,
    ref,
    request_body,
)
from agent_api.schemas import dump_slot
from agent_api.services import db, services, user
from tawasul.appointments import NewSlot
from tawasul.errors import NotFound, ValidationError
from tawasul.models import MeetingMode, utcnow
from tawasul.permissions import Action, require, visible_branches

bp = Blueprint("slots", __name__, url_prefix="/slots")

MAX_RANGE = timedelta(days=92)


@bp.get("")
def list_slots() -> ResponseReturnValue:
    """The slots of the user's branch (admins: any branch) in a time range (default 14 days)."""
    args = parsing.query({"branch", "from", "to", "mode", "free"})
    visible = visible_branches(user())
    branch = parsing.text(args, "branch", max_len=32)
    if branch is not None:
        if visible is not None and branch not in visible:
            raise NotFound("no such branch")
        visible = frozenset({branch})
    zone = ZoneInfo(services().settings.timezone)
    starts_from = parsing.moment(args, "from", zone=zone) or utcnow()
    starts_before = parsing.moment(args, "to", zone=zone) or starts_from + timedelta(days=14)
    if not timedelta(0) < starts_before - starts_from <= MAX_RANGE:
        raise ValidationError("to", "after from, at most 92 days later")
    found = services().book.slots(
        db(),
        visible,
        starts_from,
        starts_before,
        parsing.choice(args, "mode", MeetingMode),
        free_only=bool(parsing.boolean(args, "free")),
    )
    return jsonify({"items": [dump_slot(slot) for slot in found]})


@bp.post("")
def open_slot() -> ResponseReturnValue:
    """Open a slot in a branch's calendar (supervisors, in their branch)."""
    require(user(), Action.MANAGE_CALENDAR)
    data = parsing.body({"branch", "mode", "starts_at", "minutes", "capacity"})
    branch = parsing.text(data, "branch", max_len=32) or user().branch
    visible = visible_branches(user())
    if visible is not None and branch not in visible:
        raise NotFound("no such branch")
    new = NewSlot(
        branch=branch,
        mode=parsing.choice(data, "mode", MeetingMode) or MeetingMode.IN_PERSON,
        starts_at=(
            parsing.moment(
                data, "starts_at", required=True, zone=ZoneInfo(services().settings.timezone)
            )
            or utcnow()
        ),
        minutes=parsing.integer(data, "minutes", required=True, low=1, high=24 * 60) or 0,
        capacity=parsing.integer(data, "capacity", required=True, low=1, high=10_000) or 0,
    )
    return jsonify(dump_slot(services().book.open_slot(db(), new))), 201


OPENAPI_PATHS: dict[str, Any] = {
    "/slots": {
        "get": operation(
            "Calendar slots of the user's branch",
            answer("200", "slots", ITEMS),
            params=[
                query_param("branch", {"type": "string"}),
                query_param("from", {"type": "string", "format": "date-time"}),
                query_param("to", {"type": "string", "format": "date-time"}),
                query_param("mode", enum_of(MeetingMode)),
                query_param("free", {"type": "string", "enum": ["true", "false"]}),
            ],
        ),
        "post": operation(
            "Open a slot (supervisors)",
            answer("201", "the slot", ref("Slot")),
            body=request_body(
                {
                    "branch": {"type": "string"},
                    "mode": enum_of(MeetingMode),
                    "starts_at": {"type": "string", "format": "date-time"},
                    "minutes": {"type": "integer"},
                    "capacity": {"type": "integer"},
                },
                ("starts_at", "minutes", "capacity"),
            ),
        ),
    },
}
