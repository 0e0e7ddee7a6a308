"""Building blocks of the OpenAPI document: operations, bodies, parameters and answers.

Each blueprint describes its own paths next to its views with these; ``agent_api/openapi.py``
merges them into ``/openapi.json``. This module imports no blueprint, so that every blueprint
can import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    """A reference to one of the document's shared schemas (``components/schemas``)."""
    return {"$ref": f"#/components/schemas/{name}"}


def enum_of(values: Iterable[Enum]) -> dict[str, Any]:
    """A string schema that allows exactly the values of an enum."""
    return {"type": "string", "enum": [item.value for item in values]}


def request_body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON request body of these properties and no others; required when a field is."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return {"required": bool(required), "content": {JSON: {"schema": schema}}}


def answer(status: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """One response of an operation, with a JSON schema when one is given."""
    described: dict[str, Any] = {"description": description}
    if schema is not None:
        described["content"] = {JSON: {"schema": schema}}
    return {status: described}


def error(description: str) -> dict[str, Any]:
    """An error answer: its body is the shared ``Error`` schema (error id, message, details)."""
    return {"description": description, "content": {JSON: {"schema": ref("Error")}}}


ERRORS = {
    code: error(text)
    for code, text in {
        "401": "no valid credentials",
        "403": "the role does not allow it, or a missing CSRF token",
        "404": "no such resource, or one of another branch",
        "409": "an illegal transition (the allowed ones are listed) or a conflict",
        "422": "a field that is invalid, unknown or read-only",
    }.items()
}
"""The error answers every operation built by ``operation`` may give."""


def operation(
    summary: str,
    answers: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """One operation: its answers plus the common errors; ``public`` needs no credentials."""
    described: dict[str, Any] = {"summary": summary, "responses": {**answers, **ERRORS}}
    if body is not None:
        described["requestBody"] = body
    if params:
        described["parameters"] = params
    if public:
        described["security"] = []
    return described


def path_id(name: str) -> dict[str, Any]:
    """A database id in the path (``<int:name>``: 1 to 2**31 - 1)."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    }


def query_param(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """An optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


NATIONAL_ID = {
    "type": "string",
    "maxLength": 64,
    "description": (
        "A Saudi national ID (starting 1) or iqama (starting 2): ten digits, the last a Luhn "
        "check digit. Digits of any script (Arabic-Indic, Persian...) and what is pasted around "
        "them (spaces, dashes, direction marks) are accepted; stored in ASCII"
    ),
}
"""A national ID as the API reads it (``tawasul.ids.validate_national_id``): no ASCII-only
pattern, which would document a refusal the server does not make."""
MOBILE = {
    "type": "string",
    "maxLength": 64,
    "description": (
        "A Saudi mobile: 05XXXXXXXX, 5XXXXXXXX, 9665XXXXXXXX, 009665XXXXXXXX or +9665XXXXXXXX, in "
        "any digits, with what is pasted around them; stored in E.164"
    ),
}
"""A mobile number as the API reads it (``tawasul.ids.normalize_saudi_mobile``)."""

ITEMS = {"type": "object", "properties": {"items": {"type": "array"}}}
"""A list answer: ``{"items": [...]}``."""
CREDENTIALS = {
    "username": {"type": "string", "maxLength": 64},
    "password": {"type": "string", "maxLength": 1024},
}
"""The sign-in fields, also those of a new account."""
REQUEST_ID = path_id("request_id")
REQUEST = answer("200", "the request", ref("Request"))
NO_BODY = request_body({})


def action(summary: str, body: dict[str, Any] = NO_BODY) -> dict[str, Any]:
    """A POST on one request that answers with the request (a workflow action)."""
    return {"post": operation(summary, REQUEST, body=body, params=[REQUEST_ID])}
