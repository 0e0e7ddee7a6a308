"""The agent and supervisor console: static files served by the API, and its wiring.

The page is plain HTML, CSS and JavaScript modules under ``agent_api/console/`` (no build
step); everything it shows comes from the API's own routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, send_from_directory
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from agent_api.live import LiveHub
from tawasul.casefile import Casefile
from tawasul.config import Settings
from tawasul.pii import PiiProtector
from tawasul.presence import PresenceService, QueueMembership

EXTENSION = "tawasul.console"
ASSETS = Path(__file__).parent / "console"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PUBLIC = frozenset({"console.page", "console.asset"})
"""The console's files are public: the sign-in form is part of them; the data is not."""

bp = Blueprint("console", __name__, url_prefix="/console")


@dataclass
class Console:
    """What the console's own routes need beyond the API's services."""

    hub: LiveHub
    casefile: Casefile
    presence: PresenceService | None
    membership: QueueMembership | None


def console() -> Console:
    """The console services of the running app."""
    found: Console = current_app.extensions[EXTENSION]
    return found


def install(
    app: Flask,
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    ami: Any = None,
    membership: QueueMembership | None = None,
) -> Console:
    """Wire the console into the app: its services, its routes, Asterisk's events.

    Args:
        app: the agent API.
        settings: the process's settings.
        sessions: the database session factory (the live watcher reads with it).
        ami: the API's AMI client (``add_listener``), or None: no screen-pop, no live queues.
        membership: queue membership through Asterisk, or None: presence answers 503.

    Returns:
        The console's services.
    """
    from agent_api import agent, casefile, queues

    presence = PresenceService(membership) if membership is not None else None
    pii = PiiProtector.from_master_key(settings.resolved_secret_key())
    wired = Console(LiveHub(sessions, presence), Casefile(pii), presence, membership)
    app.extensions[EXTENSION] = wired
    # /health only needs the client's ``connected``: a client without events gives no pops.
    add_listener = getattr(ami, "add_listener", None)
    if callable(add_listener):
        add_listener(wired.hub.on_ami_event)
    for blueprint in (bp, agent.bp, casefile.bp, queues.bp):
        app.register_blueprint(blueprint)
    return wired


@bp.get("/")
def page() -> ResponseReturnValue:
    """The console's single page (sign-in, work list, request, supervisor view).

    The page says whether the session is signed in, so that a fresh visit shows the sign-in
    form without first asking ``/auth/me`` for a 401.
    """
    from agent_api.auth import session_user

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


def _protect(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI paths of the console's routes (merged into ``/openapi.json``)."""
    from agent_api import agent, casefile, queues

    return {
        **OPENAPI_PATHS,
        **agent.OPENAPI_PATHS,
        **casefile.OPENAPI_PATHS,
        **queues.OPENAPI_PATHS,
    }


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
