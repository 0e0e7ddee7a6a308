"""``/display-names``: the names people read for branch, official, category, mode and status."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from agent_api import parsing
from agent_api.services import services
from tawasul.display_names import DisplayNames

bp = Blueprint("display_names", __name__)


@bp.get("/display-names")
def display_names() -> ResponseReturnValue:
    """Every display name by kind, code and language (the console shows these, not codes)."""
    parsing.query(set())
    return jsonify(DisplayNames.configured(services().settings).as_json())


_NAMES = {"type": "object", "additionalProperties": {"type": "string"}}
"""One code's names: {"ar": ..., "en": ...}."""
_KIND = {"type": "object", "additionalProperties": _NAMES}
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

OPENAPI_PATHS: dict[str, Any] = {
    "/display-names": {
        "get": {
            "summary": "Display names by kind, code and language",
            "responses": {
                "200": {
                    "description": "branch, official, category, meeting_mode and status names",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    kind: _KIND
                                    for kind in (
                                        "branch",
                                        "official",
                                        "category",
                                        "meeting_mode",
                                        "status",
                                    )
                                },
                            }
                        }
                    },
                },
                "401": {"description": "no valid credentials", **_ERROR},
                "422": {"description": "an unknown parameter", **_ERROR},
            },
        }
    }
}
