"""The console's page blueprint: the single page and its static files, served by the API.

The page is plain HTML, CSS and JavaScript modules under ``agent_api/static/console/`` (no
build step); everything it shows comes from the API's own routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, send_from_directory
from flask.typing import ResponseReturnValue

from agent_api.auth import session_user
from agent_api.phones import PHONES_EXTENSION, Phones

ASSETS = Path(__file__).parent / "static" / "console"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'{phone}; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.get("/")
def page() -> ResponseReturnValue:
    """The console's single page (sign-in, work list, request, supervisor view).

    The page says whether the session is signed in, so that a fresh visit shows the sign-in
    form without first asking ``/auth/me`` for a 401.
    """
    html = (ASSETS / "index.html").read_text(encoding="utf-8")
    if session_user() is not None:
        html = html.replace("<body>", '<body data-signed-in="true">', 1)
    response = Response(html, mimetype="text/html")
    _protect(response)
    return response


@bp.get("/<path:name>")
def asset(name: str) -> ResponseReturnValue:
    """One of the console's scripts, styles or icons."""
    return _static(name)


def _static(name: str) -> Response:
    response = send_from_directory(ASSETS, name, max_age=0)
    _protect(response)
    return response


def _phone_origin() -> str:
    """The phone's WebSocket origin (Asterisk's, or a proxy's), the one other place the page
    may connect to; nothing when it is on the console's own origin."""
    phones: Phones | None = current_app.extensions.get(PHONES_EXTENSION)
    if phones is None:
        return ""
    url = urlsplit(phones.settings.resolved_sip_ws_url())
    if url.scheme not in ("ws", "wss") or not url.netloc:
        return ""
    return f" {url.scheme}://{url.netloc}"


def _protect(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(
        phone=_phone_origin()
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"


OPENAPI_PATHS: dict[str, Any] = {
    "/console/": {
        "get": {
            "summary": "The console page (public: the sign-in form is part of it)",
            "security": [],
            "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
        }
    },
    "/console/{name}": {
        "get": {
            "summary": "A console file (script, style)",
            "security": [],
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "the file"},
                "404": {"description": "no such file"},
            },
        }
    },
}
