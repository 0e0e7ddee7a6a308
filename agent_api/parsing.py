"""Reading request bodies and query strings strictly: unknown fields are refused, not ignored."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any, TypeVar

from flask import request

from agent_api.errors import ApiError
from tawasul.errors import ValidationError
from tawasul.text_input import ascii_digits, integer_text

E = TypeVar("E", bound=StrEnum)

READ_ONLY = frozenset({"id", "status", "branch", "reference_number", "created_at", "updated_at"})
"""Fields of a request no body may set: they change only through the workflow."""
MIN_YEAR = 2000
MAX_YEAR = 2100
"""Dates outside these years are typing mistakes (and would overflow time-zone arithmetic)."""


def body(allowed: Collection[str]) -> dict[str, Any]:
    """The JSON object sent, with only ``allowed`` keys (an empty body is an empty object).

    Raises:
        ApiError: 400 for a body that is not a JSON object; 422 naming the fields that may not
            be set (status, branch, reference number...) or are unknown.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad-request", "the body must be a JSON object")
    extra = sorted(set(data) - set(allowed))
    if extra:
        read_only = [name for name in extra if name in READ_ONLY]
        raise ApiError(
            422,
            "read-only-field" if read_only else "unknown-field",
            f"these fields cannot be set here: {', '.join(extra)}",
            {"fields": extra},
        )
    return data


def text(
    data: Mapping[str, Any], name: str, *, required: bool = False, max_len: int = 4000
) -> str | None:
    """A string field, or None when absent and optional."""
    value = data.get(name)
    if value is None:
        if required:
            raise ValidationError(name, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(name, "must be a string")
    if len(value) > max_len:
        raise ValidationError(name, f"at most {max_len} characters")
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text: refuse it here rather than fail in the driver.
        raise ValidationError(name, "may not contain NUL characters")
    return value


def integer(
    data: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    low: int = 1,
    high: int = 2**31 - 1,
) -> int | None:
    """An integer field (JSON numbers in bodies, digits of any script in query strings).

    Raises:
        ValidationError: naming the field for anything else (``²``, ``1e3``, control
            characters), never a ``ValueError`` from ``int()``.
    """
    value = data.get(name)
    if value is None:
        if required:
            raise ValidationError(name, "is required")
        return None
    if isinstance(value, str):
        value = integer_text(value)
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(name, "must be an integer")
    if not low <= value <= high:
        raise ValidationError(name, f"between {low} and {high}")
    return value


def boolean(data: Mapping[str, Any], name: str) -> bool | None:
    """A JSON boolean, or "true"/"false" in a query string."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        raise ValidationError(name, "must be true or false")
    return value


def choice(
    data: Mapping[str, Any], name: str, kind: type[E], *, required: bool = False
) -> E | None:
    """One value of an enumeration."""
    value = data.get(name)
    if value is None:
        if required:
            raise ValidationError(name, "is required")
        return None
    try:
        return kind(value)
    except ValueError:
        raise ValidationError(name, f"one of {', '.join(m.value for m in kind)}") from None


def moment(
    data: Mapping[str, Any], name: str, *, required: bool = False, zone: tzinfo | None = None
) -> datetime | None:
    """An ISO 8601 date and time with its UTC offset; without one, a time on the centre's
    clock when ``zone`` (the centre's) is given (``2026-03-02`` is its midnight), else refused."""
    value = text(data, name, required=required, max_len=64)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(ascii_digits(value))
    except ValueError:
        raise ValidationError(name, "an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        if zone is None:
            raise ValidationError(name, "needs a UTC offset, e.g. +03:00")
        parsed = parsed.replace(tzinfo=zone)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValidationError(name, f"a year from {MIN_YEAR} to {MAX_YEAR}")
    return parsed


def day(data: Mapping[str, Any], name: str) -> date | None:
    """An ISO 8601 date (YYYY-MM-DD), in any digits."""
    value = text(data, name, max_len=16)
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(ascii_digits(value))
    except ValueError:
        raise ValidationError(name, "an ISO 8601 date, YYYY-MM-DD") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValidationError(name, f"a year from {MIN_YEAR} to {MAX_YEAR}")
    return parsed


def query(allowed: Collection[str]) -> dict[str, str]:
    """The query string as a dict, refusing unknown parameters."""
    extra = sorted(set(request.args) - set(allowed))
    if extra:
        raise ApiError(
            422, "unknown-field", f"unknown parameters: {', '.join(extra)}", {"fields": extra}
        )
    return {name: request.args[name] for name in request.args}
