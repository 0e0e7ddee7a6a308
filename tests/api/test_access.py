"""Access: every route needs credentials, roles and branches limit what a user sees and does."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from agent_api.auth import PUBLIC_ENDPOINTS, SIGNED_ENDPOINTS
from tawasul.accounts import LOCKOUT_THRESHOLD
from tawasul.models import ApiToken, Attachment, AttachmentKind, RequestEvent, Role, User
from tests.api.support import PASSWORD


def protected_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, concrete URL) of the app that needs a user, ids filled with 1.

    Signed routes (the portal's) refuse a missing signature themselves: tests/api/test_channels.
    """
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS | SIGNED_ENDPOINTS:
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url))
    return routes


def test_the_public_routes_are_only_health_login_token_the_spec_and_the_console_files(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints & PUBLIC_ENDPOINTS == {
        "health.health",
        "auth.login",
        "auth.token",
        "openapi.spec",
        "console.page",
        "console.asset",
    }
    assert len(protected_routes(app)) >= 30


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer tws_not-a-real-token", "Bearer ", "Basic YWdlbnQ6cGFzcw==", "tws_bare"],
)
def test_every_protected_route_is_401_without_valid_credentials(app, client, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, url in protected_routes(app):
        answer = client.open(url, method=method, json={}, headers=headers)
        assert answer.status_code == 401, (method, url, answer.status_code)
        assert answer.json["error"] == "unauthenticated"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_and_a_deactivated_user_are_401(client, auth, database):
    headers = auth["agent"]
    assert client.get("/auth/me", headers=headers).status_code == 200
    tokens = client.get("/auth/tokens", headers=headers).json["items"]
    assert client.delete(f"/auth/tokens/{tokens[0]['id']}", headers=headers).status_code == 204
    assert client.get("/auth/me", headers=headers).status_code == 401

    supervisor = auth["supervisor"]
    deactivate = {"is_active": False}
    user_id = auth.users["supervisor"].id
    answer = client.patch(f"/users/{user_id}", json=deactivate, headers=auth["admin"])
    assert answer.status_code == 200
    assert client.get("/auth/me", headers=supervisor).status_code == 401


def test_tokens_are_stored_only_as_hashes(client, staff, database):
    staff.add("api-client")
    answer = client.post(
        "/auth/token", json={"username": "api-client", "password": PASSWORD, "name": "crm"}
    )
    assert answer.status_code == 201, answer.json
    plain = answer.json["token"]
    with database.sessions() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert plain not in stored and all(len(value) == 64 for value in stored)
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.json["user"]["username"] == "api-client"


def test_passwords_are_stored_as_scrypt_hashes(staff, database):
    user = staff.add("hashed")
    with database.sessions() as session:
        stored = session.get(User, user.id).password_hash
    assert stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored


def test_console_login_uses_a_session_cookie_and_csrf_token(client, staff, requests):
    staff.add("console", Role.AGENT)
    rid = requests.file().id
    wrong = client.post("/auth/login", json={"username": "console", "password": "nope nope nope"})
    assert wrong.status_code == 401
    login = client.post("/auth/login", json={"username": "Console", "password": PASSWORD})
    assert login.status_code == 200, login.json
    csrf = login.json["csrf_token"]
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie

    assert client.get(f"/requests/{rid}").status_code == 200  # reads need no CSRF token
    body = {"category": "man"}
    refused = client.post(f"/requests/{rid}/claim", json=body)
    assert refused.status_code == 403
    assert refused.json["error"] == "csrf-failed"
    forged = client.post(f"/requests/{rid}/claim", json=body, headers={"X-CSRF-Token": "x" * 43})
    assert forged.status_code == 403
    assert requests.get(rid).status == "received"
    ok = client.post(f"/requests/{rid}/claim", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.json

    assert client.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get(f"/requests/{rid}").status_code == 401


def test_repeated_bad_logins_lock_the_account(client, staff):
    staff.add("target")
    for _ in range(LOCKOUT_THRESHOLD - 1):
        wrong = client.post("/auth/login", json={"username": "target", "password": "guess-guess"})
        assert wrong.status_code == 401
    locked = client.post("/auth/login", json={"username": "target", "password": "guess-guess"})
    assert locked.status_code == 429
    assert locked.json["error"] == "too-many-attempts"
    assert int(locked.headers["Retry-After"]) > 0
    # While locked, even the right password is refused, on both doors.
    right = {"username": "target", "password": PASSWORD}
    assert client.post("/auth/login", json=right).status_code == 429
    assert client.post("/auth/token", json=right).status_code == 429


def test_an_unknown_username_looks_like_a_wrong_password(client):
    answer = client.post("/auth/login", json={"username": "nobody", "password": "whatever-it"})
    assert answer.status_code == 401
    assert answer.json == {
        "error": "unauthenticated",
        "message": "wrong username or password",
        "details": {},
    }


def test_role_matrix_for_accounts_and_calendars(client, auth):
    new_user = {"username": "x-new", "password": PASSWORD, "role": "agent", "branch": "riyadh"}
    for name in ("agent", "supervisor"):
        assert client.post("/users", json=new_user, headers=auth[name]).status_code == 403
        assert client.get("/users", headers=auth[name]).status_code == 403
    created = client.post("/users", json=new_user, headers=auth["admin"])
    assert created.status_code == 201, created.json
    assert "password_hash" not in created.json["user"]
    taken = client.post("/users", json=new_user, headers=auth["admin"])
    assert taken.status_code == 409
    slot = {"starts_at": "2099-01-01T10:00:00+03:00", "minutes": 30, "capacity": 1}
    assert client.post("/slots", json=slot, headers=auth["agent"]).status_code == 403
    assert client.post("/slots", json=slot, headers=auth["supervisor"]).status_code == 201


def test_a_jeddah_agent_cannot_see_a_riyadh_request(client, auth, requests, tmp_path, database):
    voice = tmp_path / "voice.wav"
    voice.write_bytes(b"RIFF....WAVE")
    riyadh = requests.file("riyadh", voice_message_path=str(voice))
    with database.sessions() as session:
        fax = Attachment(
            request_id=riyadh.id,
            kind=AttachmentKind.FAX,
            path=str(voice),
            content_type="image/tiff",
        )
        session.add(fax)
        session.commit()
        fax_id = fax.id
    jeddah = auth["jeddah_agent"]
    rid = riyadh.id
    for method, url in [
        ("GET", f"/requests/{rid}"),
        ("PATCH", f"/requests/{rid}"),
        ("GET", f"/requests/{rid}/events"),
        ("GET", f"/requests/{rid}/notes"),
        ("POST", f"/requests/{rid}/notes"),
        ("POST", f"/requests/{rid}/claim"),
        ("POST", f"/requests/{rid}/cancel"),
        ("POST", f"/requests/{rid}/call"),
        ("GET", f"/requests/{rid}/voice-message"),
        ("GET", f"/requests/{rid}/attachments"),
        ("GET", f"/requests/{rid}/attachments/{fax_id}"),
    ]:
        body = (
            {"category": "man"}
            if url.endswith("claim")
            else {"text": "x"}
            if "notes" in url and method == "POST"
            else None
        )
        answer = client.open(url, method=method, json=body, headers=jeddah)
        assert answer.status_code == 404, (method, url, answer.status_code)
        assert answer.json["error"] == "not-found"
    # ... and the same answer as for a request that does not exist at all.
    assert (
        client.get("/requests/999999", headers=jeddah).json
        == client.get(f"/requests/{rid}", headers=jeddah).json
    )
    # Lists: another branch as a filter is 404; the request never shows through other filters.
    assert client.get("/requests?branch=riyadh", headers=jeddah).status_code == 404
    by_reference = client.get(
        "/requests", query_string={"reference_number": riyadh.reference_number}, headers=jeddah
    )
    assert by_reference.status_code == 200 and by_reference.json["items"] == []
    assert client.get("/requests?phone_last=4567", headers=jeddah).json["items"] == []
    assert client.get("/requests/counts", headers=jeddah).json["counts"]["received"] == 0
    assert client.get("/slots?branch=riyadh", headers=jeddah).status_code == 404
    # Nothing was audited as listened to, and the Riyadh agent does get it.
    with database.sessions() as session:
        kinds = session.scalars(select(RequestEvent.kind).where(RequestEvent.request_id == rid))
        assert "voice_message_listened" not in list(kinds)
    assert client.get(f"/requests/{rid}", headers=auth["agent"]).status_code == 200
    # Admins see every branch.
    assert client.get("/requests?branch=riyadh", headers=auth["admin"]).json["items"]


def test_voice_messages_stream_to_authorised_users_and_are_audited(
    client, auth, requests, tmp_path, database
):
    voice = tmp_path / "msg.wav"
    voice.write_bytes(b"RIFF" + bytes(range(200)))
    rid = requests.file(voice_message_path=str(voice)).id
    answer = client.get(f"/requests/{rid}/voice-message", headers=auth["agent"])
    assert answer.status_code == 200
    assert answer.data == voice.read_bytes()
    assert answer.mimetype == "audio/wav"
    assert "no-store" in answer.headers["Cache-Control"]
    listened = requests.events(rid)[-1]
    assert (listened.kind, listened.actor) == (
        "voice_message_listened",
        f"user:{auth.users['agent'].id}",
    )
    no_voice = requests.file().id
    assert (
        client.get(f"/requests/{no_voice}/voice-message", headers=auth["agent"]).status_code == 404
    )


def test_fax_documents_stream_and_are_audited(client, auth, requests, tmp_path, database):
    document = tmp_path / "fax.tiff"
    document.write_bytes(b"II*\x00" + b"\x01" * 100)
    rid = requests.file(channel="fax").id
    with database.sessions() as session:
        fax = Attachment(
            request_id=rid, kind=AttachmentKind.FAX, path=str(document), content_type="image/tiff"
        )
        session.add(fax)
        session.commit()
        fax_id = fax.id
    listed = client.get(f"/requests/{rid}/attachments", headers=auth["agent"]).json["items"]
    assert [item["id"] for item in listed] == [fax_id]
    answer = client.get(f"/requests/{rid}/attachments/{fax_id}", headers=auth["agent"])
    assert answer.status_code == 200 and answer.data == document.read_bytes()
    assert requests.events(rid)[-1].details == {"attachment_id": fax_id}
    other = requests.file().id
    assert (
        client.get(f"/requests/{other}/attachments/{fax_id}", headers=auth["agent"]).status_code
        == 404
    )


def test_health_reports_each_dependency(app, client, api_settings, database):
    from agent_api import create_app

    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json["checks"] == {
        "database": "ok",
        "redis": "not configured",
        "ami": "not configured",
        "smpp": "not configured",
    }

    class DownRedis:
        def ping(self):
            raise ConnectionError("refused")

    class Ami:
        def __init__(self, up: bool) -> None:
            import threading

            self.connected = threading.Event()
            if up:
                self.connected.set()

    class UpRedis:
        def ping(self):
            return True

    degraded = create_app(
        api_settings, sessions=database.sessions, redis=DownRedis(), ami=Ami(True)
    )
    answer = degraded.test_client().get("/health")
    assert answer.status_code == 503
    assert answer.json["checks"] == {
        "database": "ok",
        "redis": "down",
        "ami": "ok",
        "smpp": "not configured",
    }
    no_ami = create_app(api_settings, sessions=database.sessions, redis=UpRedis(), ami=Ami(False))
    answer = no_ami.test_client().get("/health")
    assert answer.status_code == 503 and answer.json["checks"]["ami"] == "down"

    from tawasul.db import make_engine, make_session_factory

    # Nothing listens on port 1: the database is down.
    dead = make_session_factory(make_engine("postgresql+psycopg://x:y@127.0.0.1:1/none"))
    broken = create_app(api_settings, sessions=dead)
    answer = broken.test_client().get("/health")
    assert answer.status_code == 503 and answer.json["checks"]["database"] == "down"


def test_health_reports_the_sms_centre_bind_from_tawasul_smpp_s_status(
    api_settings, database, tmp_path
):
    import dataclasses
    import time

    from agent_api import create_app
    from tawasul.bind_status import STALE_AFTER_S, write_bind_status

    settings = dataclasses.replace(
        api_settings, sms_provider="smpp", smpp_sender_id="Tawasul", var_dir=tmp_path / "var"
    )
    client = create_app(settings, sessions=database.sessions).test_client()

    def smpp() -> tuple[int, str]:
        answer = client.get("/health")
        return answer.status_code, answer.json["checks"]["smpp"]

    assert smpp() == (503, "down")  # tawasul smpp never ran
    write_bind_status(settings.var_dir, bound=True, binds=1)
    assert smpp() == (200, "ok")
    write_bind_status(settings.var_dir, bound=False, binds=1)
    assert smpp() == (503, "down")  # running, the bind lost
    stale = time.time() - STALE_AFTER_S - 1
    write_bind_status(settings.var_dir, bound=True, binds=2, clock=lambda: stale)
    assert smpp() == (503, "down")  # nobody wrote it for four heartbeats: the process is gone
    (settings.var_dir / "smpp-bind.json").write_text("{not json")
    assert smpp() == (503, "down")
