"""``tawasul api`` and ``tawasul users``: the agent API's composition root and account tool."""

from __future__ import annotations

import dataclasses
import getpass
import logging
import sys
from typing import Any

from flask import Flask

from agent_api import create_app
from agent_api.live_bus import RedisLiveBus
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
    return ami, build.click_to_call_control(settings, ami), build.queue_membership(ami)


def build_app(settings: Settings) -> Flask:
    """The agent API with its database, Redis, AMI and identity provider (one per worker)."""
    engine = make_engine(settings.resolved_database_url())
    redis_client = None
    live_bus = None
    try:
        import redis

        redis_client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
        # Live updates go through Redis so every API process serves every console.
        live_bus = RedisLiveBus.from_url(settings.redis_url)
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
    return create_app(
        settings,
        sessions=sessions,
        redis=redis_client,
        ami=ami,
        call_control=call_control,
        queue_membership=membership,
        live_bus=live_bus,
        identity_verifier=build.identity_verifier(
            settings, PiiProtector.from_master_key(settings.resolved_secret_key())
        ),
        **phones,
    )


def serve_api(settings: Settings) -> int:
    """Serve the agent API through gunicorn (``tawasul_cli.web``) on ``api_host:api_port``.

    HTTPS when ``tls_cert_file`` and ``tls_key_file`` are set (the session cookie is then
    Secure); plain HTTP only on a loopback address.
    """
    from tawasul_cli.web import serve

    if settings.tls:
        settings = dataclasses.replace(settings, api_secure_cookies=True)
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    engine.dispose()  # the workers open their own pools after the fork
    settings.resolved_secret_key()  # no key: said once here, not by every worker
    return serve(settings, lambda: build_app(settings))


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValidationError("password", "the two entries differ")
    return first


def add_user(
    settings: Settings,
    username: str,
    role: str,
    branch: str,
    extension: str | None,
    takes_calls: bool | None = None,
) -> int:
    """Open an account; the password comes from standard input or a prompt, never argv.

    ``takes_calls`` None keeps the role's default (agents answer queue calls, others do not).
    """
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    password = _read_password()
    with make_session_factory(engine)() as session:
        user = AccountService(settings.branches).create_user(
            session, NewUser(username, password, Role(role), branch, extension, takes_calls)
        )
        calls = "takes queue calls" if user.takes_calls else "takes no queue calls"
        where = f"{user.role.value}, {user.branch}, {calls}"
        print(f"user {user.username} ({where}) created, id {user.id}")
    return 0
