"""The console's session cookie: it expires its lifetime after its last use, and is signed again
at most once per SESSION_REFRESH_AFTER, not on every answer."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask

from agent_api import create_app
from agent_api.session_cookie import ConsoleSessionInterface
from tawasul.models import Role
from tests.api.support import PASSWORD


def _app(database, api_settings, **config) -> Flask:
    return create_app(
        api_settings, sessions=database.sessions, test_config={"TESTING": True, **config}
    )


def _signed_in(app: Flask, staff, name: str):
    staff.add(name, Role.AGENT)
    client = app.test_client()
    login = client.post("/auth/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200, login.json
    assert "Set-Cookie" in login.headers
    return client


def test_answers_within_a_minute_of_the_signature_do_not_sign_it_again(
    database, api_settings, staff
):
    app = _app(database, api_settings)
    assert isinstance(app.session_interface, ConsoleSessionInterface)
    client = _signed_in(app, staff, "steady")
    for _ in range(3):
        answer = client.get("/auth/me")
        assert answer.status_code == 200
        assert "Set-Cookie" not in answer.headers


def test_the_session_slides_its_expiry_and_an_idle_one_ends(database, api_settings, staff):
    # Lifetime 3 s, signed again once 1 s old (itsdangerous stamps whole seconds).
    app = _app(
        database,
        api_settings,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=3),
        SESSION_REFRESH_AFTER=timedelta(seconds=1),
    )
    client = _signed_in(app, staff, "sliding")
    first = client.get_cookie("tawasul_session")
    assert first is not None
    time.sleep(2.1)
    used = client.get("/auth/me")
    assert used.status_code == 200
    assert "Set-Cookie" in used.headers  # over a second old: signed again
    time.sleep(2.0)  # 4.1 s after sign-in, 2 s after the last use
    assert client.get("/auth/me").status_code == 200
    idle = app.test_client()
    idle.set_cookie("tawasul_session", first.value)
    assert idle.get("/auth/me").status_code == 401  # the sign-in's cookie: 4 s old


def test_without_refresh_each_request_a_session_is_never_signed_again(
    database, api_settings, staff
):
    app = _app(
        database,
        api_settings,
        SESSION_REFRESH_EACH_REQUEST=False,
        SESSION_REFRESH_AFTER=timedelta(0),
    )
    client = _signed_in(app, staff, "fixed")
    assert "Set-Cookie" not in client.get("/auth/me").headers


def test_a_changed_session_is_signed_at_once(database, api_settings, staff):
    app = _app(database, api_settings)
    client = _signed_in(app, staff, "changing")
    me = client.get("/auth/me")
    assert "Set-Cookie" not in me.headers
    out = client.post("/auth/logout", headers={"X-CSRF-Token": me.json["csrf_token"]})
    assert out.status_code == 204
    assert "tawasul_session=;" in out.headers["Set-Cookie"]  # the cookie removed
    assert client.get("/auth/me").status_code == 401
