"""The OpenAPI 3 description of the agent API, served at ``/openapi.json``.

Written by hand next to the views; ``tests/api/test_openapi.py`` checks that it lists exactly
the app's routes and methods.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from agent_api.console import openapi_paths as console_paths
from agent_api.display_names import OPENAPI_PATHS as DISPLAY_NAMES_PATHS
from agent_api.metrics import OPENAPI_PATHS as METRICS_PATHS
from agent_api.security import OPENAPI_PATHS as SECURITY_PATHS
from tawasul.models import Channel, Language, MeetingMode, RequesterCategory, Role
from tawasul.workflow import RequestStatus

bp = Blueprint("openapi", __name__)

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [item.value for item in values]}


def _body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return {"required": bool(required), "content": {JSON: {"schema": schema}}}


def _ok(status: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {JSON: {"schema": schema}}
    return {status: answer}


ERRORS = {
    code: {"description": text, "content": {JSON: {"schema": _ref("Error")}}}
    for code, text in {
        "401": "no valid credentials",
        "403": "the role does not allow it, or a missing CSRF token",
        "404": "no such resource, or one of another branch",
        "409": "an illegal transition (the allowed ones are listed) or a conflict",
        "422": "a field that is invalid, unknown or read-only",
    }.items()
}


def _op(
    summary: str,
    answers: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {**answers, **ERRORS}}
    if body is not None:
        operation["requestBody"] = body
    if params:
        operation["parameters"] = params
    if public:
        operation["security"] = []
    return operation


def _path_id(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    }


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


REQUEST_ID = _path_id("request_id")
REQUEST = _ok("200", "the request", _ref("Request"))
NO_BODY = _body({})

FILTER_PARAMS = [
    _query("status", {"type": "string"}, "comma-separated statuses"),
    _query("branch", {"type": "string"}),
    _query("channel", _enum(Channel)),
    _query("category", _enum(RequesterCategory)),
    _query("created_from", {"type": "string", "format": "date"}),
    _query("created_to", {"type": "string", "format": "date"}),
    _query("reference_number", {"type": "string"}),
    _query("phone_last", {"type": "string", "pattern": "^[0-9]{3,4}$"}, "last digits"),
    _query("mine", {"type": "boolean"}, "only the requests the user works now"),
]


def _action(summary: str, body: dict[str, Any] = NO_BODY) -> dict[str, Any]:
    return {"post": _op(summary, REQUEST, body=body, params=[REQUEST_ID])}


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
                "role": _enum(Role),
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
                "mode": _enum(MeetingMode),
                "starts_at": _ref("Moment"),
                "ends_at": _ref("Moment"),
                "capacity": {"type": "integer"},
                "free": {"type": "integer"},
            },
        },
        "Request": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "reference_number": {"type": "string"},
                "status": _enum(RequestStatus),
                "allowed_transitions": {"type": "array", "items": _enum(RequestStatus)},
                "channel": _enum(Channel),
                "branch": {"type": "string"},
                "category": {"type": ["string", "null"]},
                "meeting_mode": {"type": ["string", "null"]},
                "target_official": {"type": ["string", "null"]},
                "language": _enum(Language),
                "callback_number": {"type": ["string", "null"], "description": "masked"},
                "assigned_to": {"type": ["integer", "null"]},
                "open_duplicates": {
                    "type": "array",
                    "description": "the requester's other open requests, any channel",
                    "items": {"type": "object"},
                },
                "appointment": {"type": ["object", "null"]},
                "created_at": _ref("Moment"),
                "updated_at": _ref("Moment"),
            },
        },
        "Event": {"type": "object"},
        "Note": {"type": "object"},
        "Verification": {"type": "object"},
        "Call": {"type": "object"},
    }
    items = {"type": "object", "properties": {"items": {"type": "array"}}}
    manual_entry = {
        "type": "object",
        "required": ["channel", "national_id"],
        "properties": {
            "channel": {"type": "string", "enum": [Channel.TELEGRAM.value, Channel.MANUAL.value]},
            "national_id": {"type": "string", "pattern": "^[12][0-9]{9}$"},
            "mobile": {"type": "string", "maxLength": 32, "description": "05XXXXXXXX"},
            "language": _enum(Language),
            "branch": {"type": "string"},
            "meeting_mode": _enum(MeetingMode),
            "target_official": {"type": "string", "maxLength": 64},
            "document": {
                "type": "string",
                "format": "binary",
                "description": "PDF, JPEG, PNG or TIFF; required for a telegram",
            },
        },
    }
    credentials = {
        "username": {"type": "string", "maxLength": 64},
        "password": {"type": "string", "maxLength": 1024},
    }
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "summary": "Database, Redis and AMI reachability (503 when one is down)",
                "security": [],
                "responses": {
                    "200": {"description": "all up"},
                    "503": {"description": "one is down"},
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3"}},
            }
        },
        "/auth/login": {
            "post": _op(
                "Open a console session (cookie); returns the CSRF token",
                {**_ok("200", "signed in"), "429": {"description": "locked after failures"}},
                body=_body(credentials, ("username", "password")),
                public=True,
            )
        },
        "/auth/logout": {"post": _op("Close the console session", _ok("204", "signed out"))},
        "/auth/token": {
            "post": _op(
                "Exchange credentials for a bearer token (shown once)",
                {**_ok("201", "the token", _ref("Token")), "429": {"description": "locked"}},
                body=_body(
                    {**credentials, "name": {"type": "string", "maxLength": 64}},
                    ("username", "password"),
                ),
                public=True,
            )
        },
        "/auth/me": {
            "get": _op("The signed-in user", _ok("200", "the user")),
            "patch": _op(
                "Set one's softphone extension",
                _ok("200", "the user"),
                body=_body({"extension": {"type": "string", "maxLength": 64}}, ("extension",)),
            ),
        },
        "/auth/tokens": {"get": _op("The user's API tokens", _ok("200", "tokens", items))},
        "/auth/tokens/{token_id}": {
            "delete": _op("Revoke a token", _ok("204", "revoked"), params=[_path_id("token_id")])
        },
        "/users": {
            "get": _op("Every account (admins)", _ok("200", "users", items)),
            "post": _op(
                "Open an account (admins)",
                _ok("201", "the user"),
                body=_body(
                    {
                        **credentials,
                        "role": _enum(Role),
                        "branch": {"type": "string"},
                        "extension": {"type": "string"},
                    },
                    ("username", "password", "role", "branch"),
                ),
            ),
        },
        "/users/{user_id}": {
            "patch": _op(
                "Change an account (admins)",
                _ok("200", "the user"),
                params=[_path_id("user_id")],
                body=_body(
                    {
                        "role": _enum(Role),
                        "branch": {"type": "string"},
                        "extension": {"type": "string"},
                        "is_active": {"type": "boolean"},
                        "password": {"type": "string"},
                    }
                ),
            )
        },
        "/slots": {
            "get": _op(
                "Calendar slots of the user's branch",
                _ok("200", "slots", items),
                params=[
                    _query("branch", {"type": "string"}),
                    _query("from", {"type": "string", "format": "date-time"}),
                    _query("to", {"type": "string", "format": "date-time"}),
                    _query("mode", _enum(MeetingMode)),
                    _query("free", {"type": "string", "enum": ["true", "false"]}),
                ],
            ),
            "post": _op(
                "Open a slot (supervisors)",
                _ok("201", "the slot", _ref("Slot")),
                body=_body(
                    {
                        "branch": {"type": "string"},
                        "mode": _enum(MeetingMode),
                        "starts_at": {"type": "string", "format": "date-time"},
                        "minutes": {"type": "integer"},
                        "capacity": {"type": "integer"},
                    },
                    ("starts_at", "minutes", "capacity"),
                ),
            ),
        },
        "/requests": {
            "get": _op(
                "Requests the user may see: filters, keyset pages, sort",
                _ok("200", "one page; next_cursor is null at the end", items),
                params=[
                    *FILTER_PARAMS,
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                    _query("cursor", {"type": "string"}),
                    _query("sort", {"type": "string", "enum": ["-created_at", "created_at"]}),
                ],
            ),
            "post": _op(
                "Enter a request from a paper telegram or a walk-in, with its scan",
                {**_ok("201", "the request", _ref("Request")), "413": {"description": "too big"}},
                body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {"schema": manual_entry},
                        JSON: {"schema": {**manual_entry, "additionalProperties": False}},
                    },
                },
            ),
        },
        "/requests/{request_id}/requester": _action(
            "Give a fax's request the requester transcribed from its document",
            _body(
                {
                    "national_id": {"type": "string", "pattern": "^[12][0-9]{9}$"},
                    "mobile": {"type": "string", "maxLength": 32},
                },
                ("national_id",),
            ),
        ),
        "/portal/requests": {
            "post": {
                "summary": "The e-services portal files a request it identified (HMAC-signed)",
                "description": (
                    "X-Portal-Signature is hex HMAC-SHA256 over '<X-Portal-Timestamp>.<body>' "
                    "with the key named by X-Portal-Key-Id. Idempotent on portal_request_id."
                ),
                "security": [{"portalSignature": []}],
                "parameters": [
                    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                    for name in ("X-Portal-Key-Id", "X-Portal-Timestamp", "X-Portal-Signature")
                ],
                "requestBody": _body(
                    {
                        "portal_request_id": {"type": "string", "maxLength": 64},
                        "national_id": {"type": "string", "pattern": "^[12][0-9]{9}$"},
                        "mobile": {"type": "string", "maxLength": 32},
                        "language": _enum(Language),
                        "branch": {"type": "string"},
                        "meeting_mode": _enum(MeetingMode),
                        "target_official": {"type": "string", "maxLength": 64},
                        "verified_at": {"type": "string", "format": "date-time"},
                    },
                    ("portal_request_id", "national_id"),
                ),
                "responses": {
                    **_ok("201", "filed"),
                    **_ok("200", "already filed under this portal id: the same request"),
                    "401": ERRORS["401"],
                    "409": ERRORS["409"],
                    "422": ERRORS["422"],
                },
            }
        },
        "/requests/counts": {
            "get": _op("Counts per status", _ok("200", "counts"), params=FILTER_PARAMS)
        },
        "/requests/{request_id}": {
            "get": _op("One request", REQUEST, params=[REQUEST_ID]),
            "patch": _op(
                "Edit details (status, branch, reference number: 422)",
                REQUEST,
                params=[REQUEST_ID],
                body=_body(
                    {
                        "target_official": {"type": "string", "maxLength": 64},
                        "meeting_mode": _enum(MeetingMode),
                        "language": _enum(Language),
                        "category": _enum(RequesterCategory),
                    }
                ),
            ),
        },
        "/requests/{request_id}/claim": _action(
            "received -> in_review, classified",
            _body({"category": _enum(RequesterCategory)}, ("category",)),
        ),
        "/requests/{request_id}/release": _action("in_review -> received"),
        "/requests/{request_id}/verification": {
            "post": _op(
                "Start an identity check (one-time code by SMS, or e-services)",
                _ok("201", "the check", _ref("Verification")),
                body=NO_BODY,
                params=[REQUEST_ID],
            )
        },
        "/requests/{request_id}/verification/check": _action(
            "Check the answer: in_review -> identity_verified",
            _body({"code": {"type": "string", "maxLength": 32}}),
        ),
        "/requests/{request_id}/approve": _action("identity_verified -> approved (supervisors)"),
        "/requests/{request_id}/reject": _action(
            "identity_verified -> rejected, with a reason (supervisors)",
            _body({"reason": {"type": "string", "maxLength": 500}}, ("reason",)),
        ),
        "/requests/{request_id}/reject/preview": {
            "post": _op(
                "The rejection SMS a reason would send, with its SMS part count",
                _ok(
                    "200",
                    "the message, its encoding, length in units, parts and part budget",
                    {
                        "type": "object",
                        "properties": {
                            "language": {"type": "string"},
                            "body": {"type": "string"},
                            "encoding": {"type": "string", "enum": ["gsm7", "ucs2"]},
                            "units": {"type": "integer"},
                            "parts": {"type": "integer"},
                            "budget": {"type": "integer"},
                        },
                    },
                ),
                body=_body({"reason": {"type": "string", "maxLength": 500}}),
                params=[REQUEST_ID],
            )
        },
        "/requests/{request_id}/schedule": _action(
            "approved|scheduled -> scheduled in a slot",
            _body({"slot_id": {"type": "integer"}}, ("slot_id",)),
        ),
        "/requests/{request_id}/complete": _action("scheduled -> completed"),
        "/requests/{request_id}/no-show": _action("scheduled -> no_show"),
        "/requests/{request_id}/cancel": _action(
            "open -> cancelled", _body({"reason": {"type": "string", "maxLength": 500}})
        ),
        "/requests/{request_id}/assignment": _action(
            "Reassign (supervisors)", _body({"user_id": {"type": "integer"}}, ("user_id",))
        ),
        "/requests/{request_id}/notes": {
            "get": _op("Follow-up notes", _ok("200", "notes", items), params=[REQUEST_ID]),
            "post": _op(
                "Add a note",
                _ok("201", "the note", _ref("Note")),
                params=[REQUEST_ID],
                body=_body({"text": {"type": "string", "maxLength": 4000}}, ("text",)),
            ),
        },
        "/requests/{request_id}/events": {
            "get": _op("The audit trail", _ok("200", "events", items), params=[REQUEST_ID])
        },
        "/requests/{request_id}/call": {
            "post": _op(
                "Click-to-call: ring the agent's softphone, then the stored number",
                {
                    **_ok("201", "the call", _ref("Call")),
                    "503": {"description": "telephony unavailable"},
                },
                params=[REQUEST_ID],
                body=_body({"extension": {"type": "string", "pattern": "^[A-Za-z0-9/_@.-]+$"}}),
            )
        },
        "/requests/{request_id}/voice-message": {
            "get": _op(
                "Stream the voice message (audited)",
                {"200": {"description": "audio", "content": {"audio/wav": {}}}},
                params=[REQUEST_ID],
            )
        },
        "/requests/{request_id}/attachments": {
            "get": _op("The request's files", _ok("200", "files", items), params=[REQUEST_ID])
        },
        "/requests/{request_id}/attachments/{attachment_id}": {
            "get": _op(
                "Stream one file (audited)",
                {"200": {"description": "the file"}},
                params=[REQUEST_ID, _path_id("attachment_id")],
            )
        },
    }
    paths.update(METRICS_PATHS)
    paths.update(SECURITY_PATHS)
    paths.update(DISPLAY_NAMES_PATHS)
    paths.update(console_paths())
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
