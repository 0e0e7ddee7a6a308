"""The request page's extras: the actions open to this user now, the history, the ID reveal."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from agent_api import parsing
from agent_api.openapi_parts import REQUEST_ID, error
from agent_api.services import console, db, services, user
from tawasul.casefile import HistoryEntry, available_actions
from tawasul.casework import load_request

bp = Blueprint("casefile", __name__, url_prefix="/requests")


def _dump_entry(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "source": entry.source,
        "kind": entry.kind,
        "actor": entry.actor,
        "status": entry.status,
        "details": entry.details,
    }


@bp.get("/<int:request_id>/casefile")
def casefile(request_id: int) -> ResponseReturnValue:
    """What the request page shows besides the request: actions, masked ID, history."""
    me = user()
    request = load_request(db(), me, request_id)
    files = console().casefile
    allowed, _ = services().casework.allowed_actions(db(), me, request)
    return jsonify(
        {
            "request_id": request.id,
            "actions": [action.value for action in available_actions(me, request, allowed)],
            "national_id_masked": files.masked_national_id(db(), request),
            "history": [_dump_entry(item) for item in files.history(db(), me, request.id)],
        }
    )


@bp.post("/<int:request_id>/national-id/reveal")
def reveal_national_id(request_id: int) -> ResponseReturnValue:
    """The requester's national ID in full (the reveal is audited)."""
    parsing.body(())
    plain = console().casefile.reveal_national_id(db(), user(), request_id)
    response = jsonify({"national_id": plain})
    response.headers["Cache-Control"] = "no-store"
    return response


OPENAPI_PATHS: dict[str, Any] = {
    "/requests/{request_id}/casefile": {
        "get": {
            "summary": "The request page: actions allowed to this user now, masked ID, history",
            "parameters": [REQUEST_ID],
            "responses": {
                "200": {"description": "actions, national_id_masked, history"},
                "401": error("no valid credentials"),
                "404": error("no such request, or one of another branch"),
            },
        }
    },
    "/requests/{request_id}/national-id/reveal": {
        "post": {
            "summary": "Reveal the requester's national ID (audited)",
            "parameters": [REQUEST_ID],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {},
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "the national ID"},
                "401": error("no valid credentials"),
                "403": error("the role does not allow it"),
                "404": error("no such request, or no requester yet"),
                "422": error("a body with fields"),
            },
        }
    },
}
