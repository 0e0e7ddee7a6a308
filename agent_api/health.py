"""``/health``: is the database, Redis and AMI reachable, and the SMS centre's bind held?
Public, never a 500."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from agent_api.services import services
from tawasul.bind_status import read_bind_status

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def _database() -> str:
    try:
        with services().sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 (any failure means "down", logged with its cause)
        log.warning("health: database check failed", exc_info=True)
        return "down"
    return "ok"


def _redis() -> str:
    client = services().redis
    if client is None:
        return "not configured"
    try:
        return "ok" if client.ping() else "down"
    except Exception:  # noqa: BLE001
        log.warning("health: Redis check failed", exc_info=True)
        return "down"


def _ami() -> str:
    client = services().ami
    if client is None:
        return "not configured"
    try:
        return "ok" if client.connected.is_set() else "down"
    except Exception:  # noqa: BLE001
        log.warning("health: AMI check failed", exc_info=True)
        return "down"


def _smpp() -> str:
    settings = services().settings
    if settings.sms_provider != "smpp":
        return "not configured"
    return read_bind_status(settings.var_dir)


@bp.get("/health")
def health() -> ResponseReturnValue:
    """Report each dependency; 503 when any configured one is down."""
    checks = {"database": _database(), "redis": _redis(), "ami": _ami(), "smpp": _smpp()}
    healthy = all(state != "down" for state in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", "checks": checks}), (
        200 if healthy else 503
    )


OPENAPI_PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Database, Redis and AMI reachability and the SMS centre's bind held "
            "by tawasul smpp (503 when one is down)",
            "security": [],
            "responses": {
                "200": {"description": "all up"},
                "503": {"description": "one is down"},
            },
        }
    },
}
