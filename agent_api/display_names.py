"""``/display-names``: the names people read for branch, official, category, mode and status."""

from __future__ import annotations

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
