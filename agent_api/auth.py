"""Sign-in: console sessions (cookie + CSRF token) and bearer tokens for API clients."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, Flask, g, jsonify, request, session
from flask.typing import ResponseReturnValue

from agent_api import parsing
from agent_api.errors import ApiError
from agent_api.openapi_parts import (
    CREDENTIALS,
    ITEMS,
    answer,
    operation,
    path_id,
    ref,
    request_body,
)
from agent_api.schemas import dump_token, dump_user
from agent_api.services import db, leave_queue, services, user
from tawasul.db import read_only
from tawasul.errors import Unauthenticated, ValidationError
from tawasul.models import User
from tawasul.worklist import default_view, views_of

bp = Blueprint("auth", __name__, url_prefix="/auth")

PUBLIC_ENDPOINTS = frozenset(
    {"health.health", "auth.login", "auth.token", "openapi.spec", "console.page", "console.asset"}
)
"""The only routes served without credentials; every other one needs a user."""
SIGNED_ENDPOINTS = frozenset({"portal.submit"})
"""Routes for other systems, which check the caller's signature themselves (no user)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ENDPOINTS = frozenset(
    {
        "requests.list_requests",
        "requests.search_requests",
        "requests.counts",
        "requests.get_request",
        "requests.notes",
        "requests.events",
        "requests.attachments",
        "casefile.casefile",
        "slots.list_slots",
        "users.list_users",
        "queues.live",
        "auth.me",
    }
)
"""Routes that only read (the console's lists, counts, search and request page): their
transactions take no write lock. Some GETs write (an audited download, a report made on
first request), so a route is added here only once it is known to read alone."""
CSRF_HEADER = "X-CSRF-Token"


def authenticate() -> None:
    """Before every request: find the user from a bearer token or the console session.

    Raises:
        Unauthenticated: a protected route without valid credentials.
        ApiError: 403 ``csrf-failed`` for a console session's unsafe request without the
            session's CSRF token (a bearer token is not sent by browsers on their own, so it
            needs none).
    """
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS | SIGNED_ENDPOINTS:
        return
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("use: Authorization: Bearer <token>")
        _reads_only()
        accounts = services().accounts
        use = accounts.token_use(db(), value.strip())
        if use is None:
            raise Unauthenticated("the token is not valid or was revoked")
        if use.stamp_due and request.endpoint in READ_ENDPOINTS:
            # The request's transaction is a read (no writes in it): stamp beside it.
            with services().sessions() as writer:
                accounts.stamp_token_use(writer, use.token_id)
        elif use.stamp_due:  # the request's own transaction writes anyway
            accounts.stamp_token_use(db(), use.token_id)
        g.user = use.user
        return
    _reads_only()
    found = session_user()
    if found is None:
        session.clear()
        raise Unauthenticated("sign in first")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = session.get("csrf", "")
        if not sent or not expected or not hmac.compare_digest(sent, expected):
            raise ApiError(403, "csrf-failed", f"the {CSRF_HEADER} header is missing or wrong")
    g.user = found


def _reads_only() -> None:
    # On SQLite a read's transactions then take no write lock, so the console's pages neither
    # wait for the IVR's writes nor hold them up (tawasul.db.read_only).
    if request.endpoint in READ_ENDPOINTS:
        read_only(db())


def session_user() -> User | None:
    """The user of this request's console session, if it is still valid."""
    user_id = session.get("uid")
    found = db().get(User, user_id) if isinstance(user_id, int) else None
    if found is None or not found.is_active or session.get("ver") != found.session_version:
        return None
    return found


def install(app: Flask) -> None:
    """Guard every route of the app."""
    app.before_request(authenticate)


def _credentials() -> tuple[str, str, dict[str, Any]]:
    data = parsing.body({"username", "password", "name"})
    username = parsing.text(data, "username", required=True, max_len=64) or ""
    password = parsing.text(data, "password", required=True, max_len=1024) or ""
    return username, password, data


@bp.post("/login")
def login() -> ResponseReturnValue:
    """Open a console session; the answer carries the CSRF token for unsafe requests."""
    username, password, _ = _credentials()
    found = services().accounts.authenticate(db(), username, password)
    session.clear()
    session.permanent = True
    session["uid"] = found.id
    session["ver"] = found.session_version
    session["csrf"] = secrets.token_urlsafe(32)
    return jsonify(
        {
            "user": dump_user(found),
            "csrf_token": session["csrf"],
            "default_view": default_view(found.role).value,
        }
    )


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Close the console session."""
    session.clear()
    return "", 204


@bp.post("/token")
def token() -> ResponseReturnValue:
    """Exchange a username and password for a bearer token (shown once)."""
    username, password, data = _credentials()
    name = parsing.text(data, "name", max_len=64) or "api client"
    found = services().accounts.authenticate(db(), username, password)
    record, plain = services().accounts.issue_token(db(), found, name)
    return jsonify({"token": plain, **dump_token(record)}), 201


@bp.get("/me")
def me() -> ResponseReturnValue:
    """The signed-in user, the work views of their role and the one they land on (and the CSRF
    token of a console session)."""
    me = user()
    answer: dict[str, Any] = {
        "user": dump_user(me),
        "default_view": default_view(me.role).value,
        "views": [view.value for view in views_of(me.role)],
    }
    if "csrf" in session:
        answer["csrf_token"] = session["csrf"]
    return jsonify(answer)


@bp.patch("/me")
def update_me() -> ResponseReturnValue:
    """Set one's own phone: the softphone extension and whether one takes the queue's calls.

    Someone who stops taking calls, or changes phone, is first logged out of the branch queue
    (when Asterisk is there), so no caller rings a phone nobody answers.
    """
    data = parsing.body({"extension", "takes_calls"})
    if not data:
        raise ValidationError("extension", "give extension, takes_calls or both")
    extension = parsing.text(data, "extension", max_len=64)
    takes_calls = parsing.boolean(data, "takes_calls")
    me = user()
    checked = services().accounts.check_own_phone(me, extension, takes_calls)
    if takes_calls is False or (checked is not None and checked != me.extension):
        leave_queue(me)  # checked first: a refused change leaves the queue as it was
    updated = services().accounts.set_own_phone(
        db(), me.id, extension=extension, takes_calls=takes_calls
    )
    return jsonify({"user": dump_user(updated)})


@bp.get("/tokens")
def tokens() -> ResponseReturnValue:
    """The signed-in user's API tokens."""
    found = services().accounts.tokens_of(db(), user())
    return jsonify({"items": [dump_token(item) for item in found]})


@bp.delete("/tokens/<int:token_id>")
def revoke(token_id: int) -> ResponseReturnValue:
    """Revoke an API token at once."""
    services().accounts.revoke_token(db(), user(), token_id)
    return "", 204


OPENAPI_PATHS: dict[str, Any] = {
    "/auth/login": {
        "post": operation(
            "Open a console session (cookie); returns the CSRF token",
            {**answer("200", "signed in"), "429": {"description": "locked after failures"}},
            body=request_body(CREDENTIALS, ("username", "password")),
            public=True,
        )
    },
    "/auth/logout": {"post": operation("Close the console session", answer("204", "signed out"))},
    "/auth/token": {
        "post": operation(
            "Exchange credentials for a bearer token (shown once)",
            {**answer("201", "the token", ref("Token")), "429": {"description": "locked"}},
            body=request_body(
                {**CREDENTIALS, "name": {"type": "string", "maxLength": 64}},
                ("username", "password"),
            ),
            public=True,
        )
    },
    "/auth/me": {
        "get": operation(
            "The signed-in user (takes_calls), default_view (agents: new_work; supervisors "
            "and admins: awaiting_decision) and the views of the role",
            answer("200", "user, default_view, views, csrf_token (console sessions)"),
        ),
        "patch": operation(
            "Set one's own phone: softphone extension (e.g. PJSIP/1001; empty removes it) and "
            "takes_calls (a queue member or not); 422 invalid-input names the field",
            answer("200", "the user"),
            body=request_body(
                {
                    "extension": {"type": "string", "maxLength": 64},
                    "takes_calls": {"type": "boolean"},
                },
                (),
            ),
        ),
    },
    "/auth/tokens": {"get": operation("The user's API tokens", answer("200", "tokens", ITEMS))},
    "/auth/tokens/{token_id}": {
        "delete": operation(
            "Revoke a token", answer("204", "revoked"), params=[path_id("token_id")]
        )
    },
}
