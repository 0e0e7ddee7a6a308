"""``/agent``: the signed-in agent's queue presence, live event stream and screen-pops."""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from agent_api import parsing
from agent_api.errors import ApiError
from agent_api.openapi_parts import error
from agent_api.schemas import dump_request
from agent_api.services import console, db, services, telephony_available, user
from tawasul.casefile import open_requests_of_caller
from tawasul.errors import NotFound, TelephonyUnavailable, ValidationError
from tawasul.intake import call_of_pop
from tawasul.masking import mask_phone
from tawasul.permissions import Action, may, visible_branches
from tawasul.presence import PauseReason, Presence, PresenceService, PresenceState

log = logging.getLogger(__name__)

bp = Blueprint("agent", __name__, url_prefix="/agent")

STREAM_MAX_S = 300.0
"""A stream ends after this long; the browser's EventSource reconnects by itself."""
KEEPALIVE_S = 15.0


def _presence_service() -> PresenceService:
    found = console().presence
    if found is None:
        raise TelephonyUnavailable("agent presence needs the AMI connection to Asterisk")
    return found


def _end_read() -> None:
    """End the request's read transaction before waiting on Asterisk: on SQLite every
    transaction holds the write lock, which the IVR's calls must not wait behind."""
    db().commit()


def _dump_presence(presence: Presence) -> dict[str, Any]:
    return {
        "state": presence.state.value,
        "reason": presence.reason.value if presence.reason else None,
        "queue": presence.queue,
        "interface": presence.interface,
        "since": presence.since.isoformat() if presence.since else None,
        "in_call": presence.in_call,
        "device_available": presence.device_available,
    }


@bp.get("/state")
def state() -> ResponseReturnValue:
    """The agent's presence in the branch queue, as Asterisk has it (always a 200).

    Staff who take no calls get ``not_an_agent``, an agent without a usable softphone
    ``no_extension``; ``telephony`` is the answer ``/queues/live`` gives too.
    """
    me = user()
    if not me.takes_calls:
        return jsonify(
            {"state": "not_an_agent", "takes_calls": False, "telephony": telephony_available()}
        )
    service = console().presence
    if service is None:
        return jsonify({"state": "unknown", "telephony": False})
    try:
        service.interface_of(me)
    except ValidationError:
        # No usable softphone: the page offers to set one (PATCH /auth/me), not an error.
        return jsonify(
            {"state": "no_extension", "takes_calls": True, "telephony": telephony_available()}
        )
    _end_read()
    try:
        presence = service.current(me)
    except TelephonyUnavailable as exc:
        log.warning("presence of user %s unknown: %s", me.id, exc)
        return jsonify({"state": "unknown", "takes_calls": True, "telephony": False})
    return jsonify({**_dump_presence(presence), "takes_calls": True, "telephony": True})


@bp.put("/state")
def change_state() -> ResponseReturnValue:
    """Log in (ready), pause with a reason, resume, or log out of the branch queue."""
    data = parsing.body({"state", "reason"})
    wanted = parsing.choice(data, "state", PresenceState, required=True)
    reason = parsing.choice(data, "reason", PauseReason)
    assert wanted is not None  # required=True
    service = _presence_service()
    me = user()
    _end_read()
    return jsonify(_dump_presence(service.change(me, wanted, reason)))


@bp.get("/stream")
def stream() -> ResponseReturnValue:
    """Server-sent events: requests filed or changed in the branch, presence, screen-pops."""
    if "text/event-stream" not in request.headers.get("Accept", ""):
        raise ApiError(406, "not-acceptable", "this is an event stream: Accept text/event-stream")
    me = user()
    hub = console().hub
    key, listener = hub.subscribe(me, may(me.role, Action.ALL_BRANCHES))
    max_s = float(current_app.config.get("TAWASUL_STREAM_MAX_S", STREAM_MAX_S))

    def events() -> Iterator[str]:
        ends = time.monotonic() + max_s
        try:
            yield "retry: 2000\n\n"
            yield _frame("hello", {"user_id": me.id})
            while not listener.dropped:
                left = ends - time.monotonic()
                if left <= 0:
                    return
                try:
                    name, data = listener.inbox.get(timeout=min(KEEPALIVE_S, left))
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                yield _frame(name, data)
        finally:
            hub.unsubscribe(key)

    response = Response(events(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _frame(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@bp.get("/screen-pops/<pop_id>")
def screen_pop(pop_id: str) -> ResponseReturnValue:
    """A screen-pop of the agent: the caller's open requests, or the number for a new one."""
    if len(pop_id) > 64:
        raise NotFound("no such screen-pop")
    me = user()
    pop = console().hub.screen_pop(pop_id, me.id)
    if pop is None:
        raise NotFound("no such screen-pop (or it is older than 30 minutes)")
    found = open_requests_of_caller(db(), pop.caller_id, visible_branches(me))
    call = call_of_pop(db(), (pop.uniqueid, pop.linkedid))
    casework = services().casework
    ids = [item.id for item in found]
    assignees = casework.assignees(db(), ids)
    appointments = casework.appointments(db(), ids)
    return jsonify(
        {
            "id": pop.id,
            "queue": pop.queue,
            "at": pop.at.isoformat(),
            # The agent is speaking with this caller; the number fills the new-request form.
            "caller_id": pop.caller_id,
            # The IVR's record of the call, when there is one: its language is the caller's.
            "call_id": call.id if call is not None else None,
            "caller_language": call.language.value if call and call.language else None,
            "caller_id_masked": mask_phone(pop.caller_id),
            # The caller's channel: the call a wrap-up disposition is stored against.
            "call": pop.uniqueid,
            "requests": [
                dump_request(
                    item,
                    assignees.get(item.id),
                    appointments.get(item.id),
                    services().book,
                )
                for item in found
            ],
        }
    )


_PRESENCE = {"200": {"description": "the presence: state, reason, queue, since"}}
_STATE = {
    "200": {
        "description": "state: logged_out, ready or paused (with reason, queue, interface, "
        "since, in_call); not_an_agent (takes_calls false), no_extension, or unknown; "
        "telephony as /queues/live has it"
    },
    "401": error("no valid credentials"),
}
_REFUSED = {
    "401": error("no valid credentials"),
    "409": error("not-an-agent: the user takes no calls"),
    "422": error("no usable extension, or a pause without a reason"),
    "503": error("Asterisk is not reachable"),
}
OPENAPI_PATHS: dict[str, Any] = {
    "/agent/state": {
        "get": {
            "summary": "The agent's presence in the branch queue (200 for every user)",
            "responses": _STATE,
        },
        "put": {
            "summary": "Log in (ready), pause with a reason, resume, log out",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["state"],
                            "additionalProperties": False,
                            "properties": {
                                "state": {
                                    "type": "string",
                                    "enum": [s.value for s in PresenceState],
                                },
                                "reason": {
                                    "type": "string",
                                    "enum": [r.value for r in PauseReason],
                                },
                            },
                        }
                    }
                },
            },
            "responses": {**_PRESENCE, **_REFUSED},
        },
    },
    "/agent/stream": {
        "get": {
            "summary": "Server-sent events: request_filed, request_changed, presence (with "
            "reason missed-call when a queue call rang out), queue, screen_pop (with the "
            "caller's channel as call), wrap_up (call, after_call_work_s)",
            "responses": {
                "200": {"description": "an event stream", "content": {"text/event-stream": {}}},
                "401": error("no valid credentials"),
                "406": error("the client does not accept an event stream"),
            },
        }
    },
    "/agent/screen-pops/{pop_id}": {
        "get": {
            "summary": "A screen-pop: the caller's open requests and number",
            "parameters": [
                {
                    "name": "pop_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 64},
                }
            ],
            "responses": {
                "200": {
                    "description": (
                        "caller_id, requests, call_id and caller_language (the IVR's call, if"
                        " recorded: POST /requests with channel phone and this screen-pop's id"
                        " links it)"
                    )
                },
                "401": error("no valid credentials"),
                "404": error("no such screen-pop of this agent"),
            },
        }
    },
}
