"""The OpenAPI 3 description of the agent API, served at ``/openapi.json``.

Each blueprint describes its own paths next to its views (``OPENAPI_PATHS``, built with
``agent_api/openapi_parts.py``); this module merges them with the shared components.
``tests/api/test_openapi.py`` checks that the document lists exactly the app's routes and
methods, each in the module of the blueprint that serves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from agent_api import (
    agent,
    auth,
    casefile,
    console_page,
    display_names,
    health,
    intake,
    metrics,
    phones,
    portal,
    queues,
    requests,
    security,
    slots,
    users,
)
from agent_api.openapi_parts import enum_of, ref
from tawasul.models import Channel, Language, MeetingMode, Role
from tawasul.permissions import RequestAction
from tawasul.workflow import RequestStatus

bp = Blueprint("openapi", __name__)

OPENAPI_PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3"}},
        }
    },
}


def merge_paths(*owned: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The paths of several blueprints in one ``paths`` object.

    Two blueprints may serve one path (``GET /requests`` lists, ``POST /requests`` enters a
    paper request), never one operation.

    Raises:
        ValueError: two blueprints describe the same method of the same path.
    """
    paths: dict[str, dict[str, Any]] = {}
    for described in owned:
        for path, operations in described.items():
            merged = paths.setdefault(path, {})
            twice = merged.keys() & operations.keys()
            if twice:
                raise ValueError(f"{path}: {sorted(twice)} described by two blueprints")
            merged.update(operations)
    return paths


def build_spec() -> dict[str, Any]:
    """The whole OpenAPI document."""
    moment = {
        "type": "object",
        "properties": {
            "utc": {"type": "string", "format": "date-time"},
            "local": {"type": "string"},
            "gregorian": {"type": "string", "format": "date"},
            "hijri": {
                "type": ["object", "null"],
                "properties": {
                    "date": {"type": "string"},
                    "ar": {"type": "string"},
                    "en": {"type": "string"},
                },
            },
            "time": {"type": "string"},
        },
    }
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "message", "details"],
            "properties": {
                "error": {"type": "string", "description": "stable error id"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        },
        "Moment": moment,
        "User": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "username": {"type": "string"},
                "role": enum_of(Role),
                "branch": {"type": "string"},
                "extension": {"type": ["string", "null"]},
                "is_active": {"type": "boolean"},
            },
        },
        "Token": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "revoked": {"type": "boolean"},
                "token": {"type": "string", "description": "only when created"},
            },
        },
        "Slot": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "branch": {"type": "string"},
                "mode": enum_of(MeetingMode),
                "starts_at": ref("Moment"),
                "ends_at": ref("Moment"),
                "capacity": {"type": "integer"},
                "free": {"type": "integer"},
            },
        },
        "Request": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "reference_number": {"type": "string"},
                "status": enum_of(RequestStatus),
                "allowed_transitions": {"type": "array", "items": enum_of(RequestStatus)},
                "channel": enum_of(Channel),
                "branch": {"type": "string"},
                "category": {"type": ["string", "null"]},
                "meeting_mode": {"type": ["string", "null"]},
                "target_official": {"type": ["string", "null"]},
                "language": enum_of(Language),
                "callback_number": {"type": ["string", "null"], "description": "masked"},
                "assigned_to": {"type": ["integer", "null"]},
                "open_duplicates": {
                    "type": "array",
                    "description": "the requester's other open requests, any channel",
                    "items": {"type": "object"},
                },
                "appointment": {"type": ["object", "null"]},
                "allowed_actions": {
                    "type": "array",
                    "description": "what the signed-in user may do now (one request's answers)",
                    "items": enum_of(RequestAction),
                },
                "sms": {
                    "type": "array",
                    "description": (
                        "the request's SMS (one request's answers): stage, priority (urgent:"
                        " the identity code, never held; decision; normal), status, held_until"
                        " while the per-number limit holds it"
                    ),
                    "items": {"type": "object"},
                },
                "identity": {
                    "type": ["object", "null"],
                    "description": (
                        "how identity was verified (one request's answers): method (sms,"
                        " in_person, portal, national), verified_by (user id), verified_at"
                    ),
                },
                "override_actions": {
                    "type": "array",
                    "description": "of those, the ones that need override_reason now",
                    "items": enum_of(RequestAction),
                },
                "created_at": ref("Moment"),
                "updated_at": ref("Moment"),
            },
        },
        "Event": {"type": "object"},
        "Note": {"type": "object"},
        "Verification": {"type": "object"},
        "Call": {"type": "object"},
    }
    paths = merge_paths(
        health.OPENAPI_PATHS,
        OPENAPI_PATHS,
        auth.OPENAPI_PATHS,
        users.OPENAPI_PATHS,
        slots.OPENAPI_PATHS,
        display_names.OPENAPI_PATHS,
        requests.OPENAPI_PATHS,
        intake.OPENAPI_PATHS,
        portal.OPENAPI_PATHS,
        metrics.OPENAPI_PATHS,
        security.OPENAPI_PATHS,
        console_page.OPENAPI_PATHS,
        agent.OPENAPI_PATHS,
        casefile.OPENAPI_PATHS,
        queues.OPENAPI_PATHS,
        phones.OPENAPI_PATHS,
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tawasul agent API", "version": "1"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "tawasul_session"},
                "portalSignature": {"type": "apiKey", "in": "header", "name": "X-Portal-Signature"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


@bp.get("/openapi.json")
def spec() -> ResponseReturnValue:
    """The OpenAPI document of this API."""
    return jsonify(build_spec())
