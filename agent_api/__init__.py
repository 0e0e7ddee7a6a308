"""The web adapter: the agent API (Flask) for agents, supervisors and admins."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import IntegerConverter

from agent_api import (
    agent,
    auth,
    casefile,
    console_page,
    display_names,
    errors,
    health,
    intake,
    metrics,
    openapi,
    phones,
    portal,
    queues,
    requests,
    security,
    session_cookie,
    slots,
    users,
)
from agent_api.live_bus import RedisLiveBus
from agent_api.services import EXTENSION, Services, install_console
from tawasul import security_log
from tawasul.accounts import AccountService
from tawasul.appointments import AppointmentBook
from tawasul.attachments import AttachmentStore
from tawasul.casework import Casework
from tawasul.click_to_call import ClickToCall
from tawasul.config import Settings
from tawasul.errors import ConfigError
from tawasul.identity import SmsCodeVerifier
from tawasul.notifications import sms_templates
from tawasul.pii import PiiProtector, decode_key
from tawasul.ports import CallControl, IdentityVerifier
from tawasul.presence import QueueMembership
from tawasul.sip_accounts import EndpointPublisher
from tawasul.sip_guard import RegistrationGuard
from tawasul.supervision import CallSpy
from tawasul.vault import vault_for

SESSION_COOKIE = "tawasul_session"


class IdConverter(IntegerConverter):
    """``<int:...>`` limited to database ids: a 40-digit id is a 404, not a driver overflow."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    redis: Any = None,
    ami: Any = None,
    call_control: CallControl | None = None,
    identity_verifier: IdentityVerifier | None = None,
    queue_membership: QueueMembership | None = None,
    sip_publisher: EndpointPublisher | None = None,
    call_spy: CallSpy | None = None,
    sip_guard: RegistrationGuard | None = None,
    live_bus: RedisLiveBus | None = None,
    test_config: Mapping[str, Any] | None = None,
) -> Flask:
    """Build the agent API.

    Args:
        settings: the process's settings (database, personal-data key, branches...).
        sessions: the session factory on the process's database engine.
        redis: a Redis client for /health (``ping()``), or None.
        ami: an AMI client for /health (its ``connected`` event), or None.
        call_control: what places click-to-calls; None answers 503 to click-to-call.
        identity_verifier: the identity provider, built by the composition root from
            ``identity_provider``; None stands for the one-time code by SMS.
        queue_membership: the agents' queue presence in Asterisk; None answers 503 to it.
        sip_publisher: where the accounts' SIP endpoints are published (Asterisk's
            configuration and a reload); None publishes nothing.
        call_spy: ChanSpy through AMI for supervisors; None answers 503 to it.
        sip_guard: the failed-registration counts whose blocks are published with the
            endpoints (fed by the composition root's AMI listener); None: a new one.
        live_bus: Redis pub/sub for the console's live updates, shared by every API process;
            None: this process's streams hear only this process.
        test_config: Flask settings that win over the defaults (tests).

    Returns:
        The Flask application.

    Raises:
        ConfigError: ``identity_provider`` names another provider and none was given.
    """
    app = Flask(__name__, static_folder=None)
    app.url_map.converters["int"] = IdConverter
    master = settings.resolved_secret_key()
    pii = PiiProtector.from_master_key(master)
    app.config.update(
        SECRET_KEY=hmac.new(decode_key(master), b"tawasul/web-session", hashlib.sha256).digest(),
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.api_secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=10),
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    session_cookie.install(app)
    security_log.install(sessions)
    book = AppointmentBook(
        settings.branches, settings.video_meeting_base_url, zone=ZoneInfo(settings.timezone)
    )
    if identity_verifier is None and settings.identity_provider != "sms":
        # Built by the composition root (providers.build): the web adapter knows no provider.
        raise ConfigError(f"identity_provider {settings.identity_provider!r} was not built")
    verifier = identity_verifier or SmsCodeVerifier(pii)
    app.extensions[EXTENSION] = Services(
        settings=settings,
        sessions=sessions,
        accounts=AccountService(settings.branches),
        casework=Casework(book, verifier, templates=sms_templates(settings)),
        book=book,
        attachments=AttachmentStore(settings.var_dir, vault_for(settings)),
        click_to_call=(
            ClickToCall(call_control, timeout_s=settings.click_to_call_timeout_s)
            if call_control is not None
            else None
        ),
        redis=redis,
        ami=ami,
    )

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db", None)
        if session is not None:
            session.close()

    errors.register_error_handlers(app)
    auth.install(app)
    for blueprint in (
        health.bp,
        openapi.bp,
        auth.bp,
        users.bp,
        requests.bp,
        intake.bp,
        portal.bp,
        slots.bp,
        display_names.bp,
        metrics.bp,
        security.bp,
        console_page.bp,
        agent.bp,
        casefile.bp,
        queues.bp,
        phones.bp,
    ):
        app.register_blueprint(blueprint)
    install_console(app, settings, sessions, ami=ami, membership=queue_membership, bus=live_bus)
    phones.install_phones(
        app, settings, sessions, pii, publisher=sip_publisher, spy=call_spy, guard=sip_guard
    )
    return app
