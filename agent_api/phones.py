"""The staff's phones: SIP credentials, wrap-up dispositions, a supervisor on a live call.

``/auth/me/sip`` gives the signed-in user what their phone needs (the console page registers
with it; the account page shows what to type into a desk phone); the password is returned to
the owner's console session only, never to a bearer token. ``/agent/wrap-up`` and
``/agent/calls/<uniqueid>/disposition`` close a call; ``/supervisor/spy`` rings the
supervisor's own phone into an agent's call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from agent_api import parsing
from agent_api.openapi_parts import answer, enum_of, error, operation, path_id, request_body
from agent_api.services import db, user
from tawasul.config import Settings
from tawasul.errors import NotFound, TelephonyUnavailable
from tawasul.models import User
from tawasul.permissions import Action, require
from tawasul.pii import PiiProtector
from tawasul.sip_accounts import (
    EndpointPublisher,
    EndpointSync,
    SipAccounts,
    SipCredentials,
    SipDevice,
    has_phone,
)
from tawasul.sip_guard import RegistrationGuard
from tawasul.supervision import CallSpy, SpyMode, Supervision
from tawasul.wrap_up import WrapUp, parse_dispositions

log = logging.getLogger(__name__)

bp = Blueprint("phones", __name__)

PHONES_EXTENSION = "tawasul.phones"


@dataclass
class Phones:
    """The phones' services of one app."""

    settings: Settings
    accounts: SipAccounts
    wrap_up: WrapUp
    supervision: Supervision | None
    sync: EndpointSync | None
    guard: RegistrationGuard


def phones() -> Phones:
    """The phones' services of the running app."""
    found: Phones = current_app.extensions[PHONES_EXTENSION]
    return found


def install_phones(
    app: Flask,
    settings: Settings,
    sessions: sessionmaker[Session],
    pii: PiiProtector,
    *,
    publisher: EndpointPublisher | None = None,
    spy: CallSpy | None = None,
    guard: RegistrationGuard | None = None,
) -> Phones:
    """Wire the phones' services; with a publisher, keep Asterisk's endpoints in step.

    Args:
        app: the agent API.
        settings: dispositions, after-call work, registration blocking, websocket URL.
        sessions: the session factory (any committed change to an account republishes).
        pii: decrypts the SIP secrets.
        publisher: where endpoints go (``providers.sip_endpoints``); None: nothing is
            published (an API without Asterisk).
        spy: ChanSpy through AMI; None: ``/supervisor/spy`` answers 503.
        guard: failed-registration counts (its blocks are published); None: a new one.

    Returns:
        The wired services.
    """
    holder: list[EndpointSync] = []

    def changed() -> None:
        if holder:
            holder[0].request()

    guard = guard or RegistrationGuard(
        settings.sip_block_after, settings.sip_block_window_s, settings.sip_block_s
    )
    guard.notify(changed)
    accounts = SipAccounts(pii, on_change=changed)
    sync = None
    if publisher is not None:
        sync = EndpointSync(
            sessions, accounts, publisher, blocked=guard.blocked, wake_in=guard.next_expiry_s
        )
        holder.append(sync)
        _republish_on_account_commits(sessions, sync)
        sync.start()
    wired = Phones(
        settings,
        accounts,
        WrapUp(parse_dispositions(settings.dispositions)),
        Supervision(spy) if spy is not None else None,
        sync,
        guard,
    )
    app.extensions[PHONES_EXTENSION] = wired
    return wired


def _republish_on_account_commits(sessions: sessionmaker[Session], sync: EndpointSync) -> None:
    # Whatever changes an account (created, deactivated, extension, deleted) through this
    # process's sessions asks for a publication once the change is committed; an unchanged
    # result is neither written nor reloaded, so a sign-in that only counts failures is cheap.
    @event.listens_for(sessions, "before_flush")
    def _note(session: Session, _context: Any, _instances: Any) -> None:
        touched = (*session.new, *session.dirty, *session.deleted)
        if any(isinstance(item, User) for item in touched):
            session.info["sip_accounts_changed"] = True

    @event.listens_for(sessions, "after_commit")
    def _publish(session: Session) -> None:
        if session.info.pop("sip_accounts_changed", False):
            sync.request()


def _dump_sip(me: User, credentials: SipCredentials, with_secret: bool) -> dict[str, Any]:
    settings = phones().settings
    server = settings.sip_server or f"127.0.0.1:{settings.sip_port}"
    answer: dict[str, Any] = {
        # False: no endpoint is generated (the account takes no calls and supervises none),
        # so there is nothing to register.
        "enabled": has_phone(me),
        "endpoint": credentials.endpoint,
        "user": credentials.endpoint,
        "device": credentials.device.value,
        "interface": me.extension,
        "realm": credentials.realm,
        "ws_url": settings.resolved_sip_ws_url(),
        "uri": f"sip:{credentials.endpoint}@{server.split(':')[0]}",
        "server": server,
        "transport": "ws" if credentials.device == SipDevice.WEBRTC else "udp",
        "after_call_work_s": settings.after_call_work_s,
    }
    if with_secret:
        answer["password"] = credentials.password
        answer["ha1"] = credentials.ha1
    return answer


def _console_session() -> bool:
    """A console session (cookie), not an API client's bearer token."""
    return request.headers.get("Authorization") is None


@bp.get("/auth/me/sip")
def my_sip() -> ResponseReturnValue:
    """What the signed-in user's phone needs to register (the secret: their session only)."""
    me = user()
    credentials = phones().accounts.credentials(db(), me)
    response = jsonify(_dump_sip(me, credentials, with_secret=_console_session()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.put("/auth/me/sip")
def set_my_device() -> ResponseReturnValue:
    """Choose what registers as one's endpoint: the page (webrtc) or a SIP phone (sip)."""
    data = parsing.body({"device"})
    device = parsing.choice(data, "device", SipDevice, required=True)
    assert device is not None  # required=True
    me = user()
    phones().accounts.set_device(db(), me, device)
    credentials = phones().accounts.credentials(db(), me)
    return jsonify(_dump_sip(me, credentials, with_secret=False))


@bp.post("/auth/me/sip/rotate")
def rotate_my_sip() -> ResponseReturnValue:
    """Replace one's SIP password; the new one is shown once (the old stops within seconds)."""
    me = user()
    credentials = phones().accounts.rotate(db(), me, f"user:{me.id}")
    response = jsonify(_dump_sip(me, credentials, with_secret=True))
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.post("/users/<int:user_id>/sip/rotate")
def rotate_sip(user_id: int) -> ResponseReturnValue:
    """Replace an account's SIP password (admins); shown once, to the admin."""
    admin = user()
    require(admin, Action.MANAGE_USERS)
    target = db().get(User, user_id)
    if target is None:
        raise NotFound("no such user")
    credentials = phones().accounts.rotate(db(), target, f"user:{admin.id}")
    response = jsonify(_dump_sip(target, credentials, with_secret=True))
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.get("/agent/wrap-up")
def wrap_up_options() -> ResponseReturnValue:
    """The dispositions to choose from after a call, and the after-call-work time."""
    service = phones()
    return jsonify(
        {
            "after_call_work_s": service.settings.after_call_work_s,
            "dispositions": [
                {"code": item.code, "ar": item.ar, "en": item.en}
                for item in service.wrap_up.dispositions
            ],
        }
    )


@bp.post("/agent/calls/<uniqueid>/disposition")
def dispose(uniqueid: str) -> ResponseReturnValue:
    """Wrap a call up with a disposition (stored against the call, audited)."""
    if len(uniqueid) > 64:
        raise NotFound("no such call")
    require(user(), Action.WORK_REQUEST)
    data = parsing.body({"code"})
    code = parsing.text(data, "code", required=True, max_len=32) or ""
    call = phones().wrap_up.dispose(db(), user(), uniqueid, code)
    return jsonify(
        {
            "call_id": call.id,
            "uniqueid": call.uniqueid,
            "disposition": call.disposition,
            "disposition_by": call.disposition_by,
            "disposition_at": call.disposition_at.isoformat() if call.disposition_at else None,
        }
    )


@bp.post("/supervisor/spy")
def spy() -> ResponseReturnValue:
    """Ring one's own phone into an agent's live call: listen, whisper or barge (audited)."""
    data = parsing.body({"agent_id", "mode"})
    agent_id = parsing.integer(data, "agent_id", required=True)
    mode = parsing.choice(data, "mode", SpyMode, required=True)
    assert agent_id is not None and mode is not None  # required=True
    supervision = phones().supervision
    me = user()
    if supervision is None:
        require(me, Action.DECIDE)  # a non-supervisor learns nothing about the telephony
        raise TelephonyUnavailable("listening in needs the AMI connection to Asterisk")
    agent = supervision.spy(db(), me, agent_id, mode)
    db().commit()  # end the read before the answer
    return jsonify({"agent_id": agent.id, "mode": mode.value, "ringing": me.extension}), 202


_SIP = {
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean"},
        "endpoint": {"type": "string"},
        "user": {"type": "string"},
        "device": {"type": "string", "enum": [d.value for d in SipDevice]},
        "interface": {"type": ["string", "null"]},
        "realm": {"type": "string"},
        "ws_url": {"type": "string"},
        "uri": {"type": "string"},
        "server": {"type": "string"},
        "transport": {"type": "string", "enum": ["ws", "udp"]},
        "after_call_work_s": {"type": "integer"},
        "password": {"type": "string", "description": "console session / rotation only"},
        "ha1": {"type": "string", "description": "MD5(user:realm:password)"},
    },
}
_NO_EXTENSION = {"422": error("no SIP extension (PJSIP/<digits>) on the account")}
OPENAPI_PATHS: dict[str, Any] = {
    "/auth/me/sip": {
        "get": operation(
            "The signed-in user's SIP details (the secret only to a console session)",
            {**answer("200", "the SIP details", _SIP), **_NO_EXTENSION},
        ),
        "put": operation(
            "Choose the phone: the page (webrtc) or a desk phone / softphone (sip)",
            {**answer("200", "the SIP details", _SIP), **_NO_EXTENSION},
            body=request_body({"device": enum_of(SipDevice)}, ("device",)),
        ),
    },
    "/auth/me/sip/rotate": {
        "post": operation(
            "Replace one's SIP password (shown once)",
            {**answer("201", "the new SIP details", _SIP), **_NO_EXTENSION},
        )
    },
    "/users/{user_id}/sip/rotate": {
        "post": operation(
            "Replace an account's SIP password (admins; shown once)",
            {**answer("201", "the new SIP details", _SIP), **_NO_EXTENSION},
            params=[path_id("user_id")],
        )
    },
    "/agent/wrap-up": {
        "get": operation(
            "Dispositions (Arabic and English) and the after-call-work time",
            answer("200", "dispositions"),
        )
    },
    "/agent/calls/{uniqueid}/disposition": {
        "post": operation(
            "Wrap a call up with a disposition",
            {
                **answer("200", "the call's disposition"),
                "404": error("no such call"),
                "409": error("the call already has a disposition"),
            },
            params=[
                {
                    "name": "uniqueid",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 64},
                }
            ],
            body=request_body({"code": {"type": "string", "maxLength": 32}}, ("code",)),
        )
    },
    "/supervisor/spy": {
        "post": operation(
            "Listen, whisper or barge into an agent's call from one's own phone (audited)",
            {
                **answer("202", "one's phone is ringing"),
                "403": error("not a supervisor, or an agent of another branch"),
                "503": error("Asterisk is not reachable"),
            },
            body=request_body(
                {"agent_id": {"type": "integer"}, "mode": enum_of(SpyMode)},
                ("agent_id", "mode"),
            ),
        )
    },
}
