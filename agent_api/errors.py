"""Errors at the edge: every domain and HTTP error becomes JSON with a stable id."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from tawasul.errors import (
    AppointmentNotStarted,
    ConfigError,
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    TawasulError,
    TelephonyUnavailable,
    TooManyAttempts,
    Unauthenticated,
    ValidationError,
    VerificationFailed,
)
from tawasul.ports import DeliveryError
from tawasul.security_log import record

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error of the HTTP layer itself (bad JSON, CSRF), with its status and id."""

    def __init__(
        self, status: int, error_id: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.details = details or {}


STATUS: list[tuple[type[TawasulError], int]] = [
    (ValidationError, 422),
    (VerificationFailed, 422),
    (NotFound, 404),
    (IllegalTransition, 409),
    (AppointmentNotStarted, 409),
    (Conflict, 409),
    (Forbidden, 403),
    (Unauthenticated, 401),
    (TooManyAttempts, 429),
    (TelephonyUnavailable, 503),
    (ConfigError, 500),
]


def error_response(
    status: int, error_id: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    """The JSON body every error has: ``{"error", "message", "details"}``."""
    response = jsonify({"error": error_id, "message": message, "details": details or {}})
    response.status_code = status
    return response


def _details(exc: TawasulError) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        return {"field": exc.field, "reason": exc.reason}
    if isinstance(exc, IllegalTransition):
        return {"current": exc.current, "target": exc.target, "allowed": exc.allowed}
    if isinstance(exc, VerificationFailed):
        return {"reason": exc.reason, "attempts_left": exc.attempts_left}
    if isinstance(exc, TooManyAttempts):
        if exc.reason:
            return {"retry_after_s": exc.retry_after_s, "reason": exc.reason}
        return {"retry_after_s": exc.retry_after_s}
    if isinstance(exc, Forbidden):
        return {"reason": exc.reason, **exc.details}
    if isinstance(exc, AppointmentNotStarted):
        return {
            "starts_at": exc.starts_at.isoformat(),
            "may_override": exc.may_override,
            "override_field": "override_reason",
        }
    return {}


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, HTTP errors and anything unexpected to JSON responses."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.error_id, exc.message, exc.details)

    @app.errorhandler(TawasulError)
    def _domain_error(exc: TawasulError) -> Response:
        status = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
        if status >= 500:
            log.error("%s: %s", exc.error_id, exc)
        response = error_response(status, exc.error_id, str(exc), _details(exc))
        if isinstance(exc, Forbidden):
            pending = g.get("db")
            if pending is not None:
                pending.rollback()  # nothing of a refused request is kept; frees SQLite's lock
            who = g.get("user")
            record(
                "permission_denied",
                f"user:{who.id}" if who is not None else "anonymous",
                method=request.method,
                endpoint=request.endpoint or "",
                reason=str(exc),
            )
        if isinstance(exc, Unauthenticated):
            response.headers["WWW-Authenticate"] = 'Bearer realm="tawasul"'
        if isinstance(exc, TooManyAttempts) and exc.retry_after_s:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.errorhandler(DeliveryError)
    def _provider_down(exc: DeliveryError) -> Response:
        log.warning("provider unavailable: %s", exc)
        return error_response(503, "provider-unavailable", "an outside provider cannot be reached")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        error_id = (exc.name or "error").lower().replace(" ", "-")
        response = error_response(status, error_id, exc.description or exc.name or "")
        if status == 405 and exc.response is None:
            allowed = getattr(exc, "valid_methods", None)
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(500, "internal-error", "an unexpected error happened; it is logged")
