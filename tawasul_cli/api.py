"""``tawasul api`` and ``tawasul users``: the agent API's composition root and account tool."""

from __future__ import annotations

import getpass
import logging
import sys
from typing import Any

from agent_api import create_app
from providers import build
from providers.ami import AMIClient
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.errors import ConfigError, ValidationError
from tawasul.migrate import upgrade
from tawasul.models import Role
from tawasul.pii import PiiProtector
from tawasul.ports import CallControl
from tawasul.presence import QueueMembership

log = logging.getLogger(__name__)


def _telephony(
    settings: Settings,
) -> tuple[AMIClient | None, CallControl | None, QueueMembership | None]:
    """The AMI client, click-to-call and queue-membership adapters, or Nones without AMI."""
    try:
        ami = build.ami_client(settings, "api-ami")
    except Exception as exc:  # noqa: BLE001 (no AMI secret: serve without click-to-call)
        log.warning("click-to-call and agent presence unavailable: %s", exc)
        return None, None, None
    try:
        ami.start(wait_s=3.0)
    except Exception as exc:  # noqa: BLE001 (it reconnects by itself; /health reports it)
        log.warning("AMI not reachable yet (%s); /health reports it", exc)
    return ami, build.click_to_call_control(ami), build.queue_membership(ami)


def serve_api(settings: Settings) -> int:
    """Serve the agent API on 127.0.0.1:<api_port> (Werkzeug's server; put TLS in front)."""
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    redis_client = None
    try:
        import redis

        redis_client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
    except ImportError:
        log.warning("redis is not installed: /health reports it as not configured")
    ami, call_control, membership = _telephony(settings)
    sessions = make_session_factory(engine)
    phones: dict[str, Any] = {}
    if ami is not None:
        try:
            phones["sip_publisher"] = build.sip_publisher(settings)
        except ConfigError as exc:
            log.warning("SIP endpoints are not published to Asterisk: %s", exc)
        phones["call_spy"] = build.call_spy(ami)
        phones["sip_guard"] = build.sip_guard(settings, ami)
    app = create_app(
        settings,
        sessions=sessions,
        redis=redis_client,
        ami=ami,
        call_control=call_control,
        queue_membership=membership,
        identity_verifier=build.identity_verifier(
            settings, PiiProtector.from_master_key(settings.resolved_secret_key())
        ),
        **phones,
    )
    log.info("agent API on http://127.0.0.1:%s", settings.api_port)
    log.info("console on http://127.0.0.1:%s/console/", settings.api_port)
    app.run(host="127.0.0.1", port=settings.api_port, threaded=True, use_reloader=False)
    return 0


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValidationError("password", "the two entries differ")
    return first


def add_user(
    settings: Settings, username: str, role: str, branch: str, extension: str | None
) -> int:
    """Open an account; the password comes from standard input or a prompt, never argv."""
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    password = _read_password()
    with make_session_factory(engine)() as session:
        user = AccountService(settings.branches).create_user(
            session, NewUser(username, password, Role(role), branch, extension)
        )
        print(f"user {user.username} ({user.role.value}, {user.branch}) created, id {user.id}")
    return 0
