"""The staff's phones through the API: SIP details and their secret, rotation, publication of
the endpoints when accounts change, wrap-up dispositions, and supervisors listening in."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Sequence

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from agent_api import create_app
from tawasul.models import Call, Role, SecurityEvent, User
from tawasul.security_log import SecurityEventWriter
from tawasul.security_log import install as install_security_log
from tawasul.sip_accounts import SipIdentity
from tawasul.supervision import SpyMode
from tests.api.support import PASSWORD


class RecordingPublisher:
    """An ``EndpointPublisher`` that keeps what it was given."""

    def __init__(self) -> None:
        self.published: list[list[SipIdentity]] = []
        self.changed = threading.Event()

    def publish(self, identities: Sequence[SipIdentity], blocked: Sequence[str]) -> bool:
        self.published.append(list(identities))
        self.changed.set()
        return True

    def endpoints(self) -> set[str]:
        return {item.endpoint for item in self.published[-1]} if self.published else set()


class RecordingSpy:
    """A ``CallSpy`` that keeps what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, SpyMode]] = []

    def spy(self, supervisor_endpoint: str, agent_endpoint: str, mode: SpyMode) -> None:
        self.asked.append((supervisor_endpoint, agent_endpoint, mode))


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def spy() -> RecordingSpy:
    return RecordingSpy()


@pytest.fixture
def app(database, api_settings, calls, publisher, spy) -> Iterator[Flask]:
    """The API publishing endpoints to a recorder and spying through a recorder."""
    built = create_app(
        api_settings,
        sessions=database.sessions,
        call_control=calls,
        sip_publisher=publisher,
        call_spy=spy,
        test_config={"TESTING": True},
    )
    yield built
    sync = built.extensions["tawasul.phones"].sync
    if sync is not None:
        sync.stop()


def _session(client: FlaskClient, username: str) -> dict[str, str]:
    """Sign in as a console session; the CSRF header for unsafe requests."""
    answer = client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200
    return {"X-CSRF-Token": answer.json["csrf_token"]}


def _wait(condition, what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_the_owner_s_session_gets_the_sip_secret_and_a_token_does_not(client, auth, staff):
    by_token = client.get("/auth/me/sip", headers=auth["agent"])
    assert by_token.status_code == 200
    assert by_token.headers["Cache-Control"] == "no-store"
    details = by_token.json
    assert details["endpoint"] == details["user"] == "1001"
    assert details["ws_url"].startswith("ws://127.0.0.1:") and details["ws_url"].endswith("/ws")
    assert details["transport"] == "ws" and details["device"] == "webrtc"
    assert details["enabled"] is True
    assert "password" not in details and "ha1" not in details

    staff.add("hind", extension="PJSIP/1301")
    _session(client, "hind")
    first = client.get("/auth/me/sip").json
    password = first["password"]
    assert len(password) >= 20 and password != PASSWORD
    expected = hashlib.md5(f"1301:tawasul:{password}".encode()).hexdigest()  # noqa: S324
    assert first["ha1"] == expected and first["realm"] == "tawasul"
    assert client.get("/auth/me/sip").json["password"] == password  # stable until rotated


def test_an_agent_who_takes_no_calls_has_no_endpoint_to_register(client, staff, auth):
    quiet = staff.add("quiet", extension="PJSIP/1302")
    client.patch("/auth/me", json={"takes_calls": False}, headers=staff.headers(quiet))
    answer = client.get("/auth/me/sip", headers=staff.headers(quiet))
    assert answer.status_code == 200 and answer.json["enabled"] is False


def test_rotation_shows_a_new_password_once_and_is_a_security_event(client, staff, database):
    writer: SecurityEventWriter = install_security_log(database.sessions)
    staff.add("hind", extension="PJSIP/1301")
    csrf = _session(client, "hind")
    before = client.get("/auth/me/sip").json["password"]
    rotated = client.post("/auth/me/sip/rotate", headers=csrf)
    assert rotated.status_code == 201
    assert rotated.json["password"] != before
    assert client.get("/auth/me/sip").json["password"] == rotated.json["password"]
    assert writer.wait_stored()
    with database.sessions() as session:
        kinds = [e.kind for e in session.scalars(select(SecurityEvent))]
    assert "sip_secret_rotated" in kinds


def test_only_an_admin_rotates_another_account(client, auth, staff):
    agent = staff.add("hind", extension="PJSIP/1301")
    refused = client.post(f"/users/{agent.id}/sip/rotate", headers=auth["agent"])
    assert refused.status_code == 403
    done = client.post(f"/users/{agent.id}/sip/rotate", headers=auth["admin"])
    assert done.status_code == 201 and done.json["endpoint"] == "1301"
    assert done.json["password"]


def test_an_account_without_a_sip_extension_has_no_sip_details(client, staff):
    walker = staff.add("walker", extension="Local/2001@tawasul-simulated-agents")
    answer = client.get("/auth/me/sip", headers=staff.headers(walker))
    assert answer.status_code == 422
    assert answer.json["details"]["field"] == "extension"


def test_the_desk_phone_choice_changes_the_transport(client, staff):
    staff.add("hind", extension="PJSIP/1301")
    csrf = _session(client, "hind")
    chosen = client.put("/auth/me/sip", json={"device": "sip"}, headers=csrf)
    assert chosen.status_code == 200
    assert chosen.json["transport"] == "udp" and chosen.json["device"] == "sip"
    assert "password" not in chosen.json
    assert client.put("/auth/me/sip", json={"device": "fax"}, headers=csrf).status_code == 422


def test_account_changes_are_published_within_seconds(client, auth, publisher):
    _wait(lambda: bool(publisher.published), "the first publication")
    created = client.post(
        "/users",
        json={
            "username": "rima",
            "password": PASSWORD,
            "role": "agent",
            "branch": "riyadh",
            "extension": "PJSIP/1401",
        },
        headers=auth["admin"],
    )
    assert created.status_code == 201
    _wait(lambda: "1401" in publisher.endpoints(), "the new account's endpoint")
    user_id = created.json["user"]["id"]
    client.patch(f"/users/{user_id}", json={"is_active": False}, headers=auth["admin"])
    _wait(lambda: "1401" not in publisher.endpoints(), "the disabled account to go")
    # Staff who neither take calls nor supervise get none (an admin does: they supervise).
    assert "1001" in publisher.endpoints()


def _call(database, uniqueid: str = "1700000000.42", request_id: int | None = None) -> int:
    with database.sessions() as session:
        call = Call(uniqueid=uniqueid, caller_id="0501234567", request_id=request_id)
        session.add(call)
        session.commit()
        return call.id


def test_a_disposition_is_stored_against_the_call_once(client, auth, database, staff):
    options = client.get("/agent/wrap-up", headers=auth["agent"]).json
    assert options["after_call_work_s"] == 10
    codes = {item["code"]: item for item in options["dispositions"]}
    assert codes["resolved"]["en"] == "Resolved" and codes["resolved"]["ar"] == "تم الحل"
    call_id = _call(database)
    done = client.post(
        "/agent/calls/1700000000.42/disposition", json={"code": "resolved"}, headers=auth["agent"]
    )
    assert done.status_code == 200
    assert done.json["disposition"] == "resolved"
    again = client.post(
        "/agent/calls/1700000000.42/disposition", json={"code": "dropped"}, headers=auth["agent"]
    )
    assert again.status_code == 409
    with database.sessions() as session:
        call = session.get(Call, call_id)
        agent = session.scalar(select(User).where(User.username == "agent"))
        assert call is not None and agent is not None
        assert call.disposition == "resolved" and call.disposition_by == agent.id
        assert call.disposition_at is not None
    unknown = client.post(
        "/agent/calls/1700000000.42/disposition", json={"code": "nope"}, headers=auth["agent"]
    )
    assert unknown.status_code == 422
    missing = client.post(
        "/agent/calls/1.1/disposition", json={"code": "resolved"}, headers=auth["agent"]
    )
    assert missing.status_code == 404


def test_only_supervisors_listen_in_and_each_time_is_audited(client, auth, staff, spy, database):
    writer: SecurityEventWriter = install_security_log(database.sessions)
    agent = staff.add("dana", extension="PJSIP/1501")
    staff.add("huda", Role.SUPERVISOR, extension="PJSIP/1502")
    far = staff.add("far", branch="jeddah", extension="PJSIP/1503")
    refused = client.post(
        "/supervisor/spy", json={"agent_id": agent.id, "mode": "listen"}, headers=auth["agent"]
    )
    assert refused.status_code == 403
    assert spy.asked == []
    headers = staff.headers(staff_user(database, "huda"))
    for mode in ("listen", "whisper", "barge"):
        done = client.post(
            "/supervisor/spy", json={"agent_id": agent.id, "mode": mode}, headers=headers
        )
        assert done.status_code == 202
    assert spy.asked == [
        ("1502", "1501", SpyMode.LISTEN),
        ("1502", "1501", SpyMode.WHISPER),
        ("1502", "1501", SpyMode.BARGE),
    ]
    other_branch = client.post(
        "/supervisor/spy", json={"agent_id": far.id, "mode": "listen"}, headers=headers
    )
    assert other_branch.status_code == 403
    assert writer.wait_stored()
    with database.sessions() as session:
        spied = [e for e in session.scalars(select(SecurityEvent)) if e.kind == "call_spied"]
    assert len(spied) == 3


def staff_user(database, username: str) -> User:
    with database.sessions() as session:
        found = session.scalar(select(User).where(User.username == username))
        assert found is not None
        session.expunge(found)
        return found


def test_the_disposition_of_a_call_about_a_request_is_in_the_request_s_history(
    client, auth, database, requests
):
    request = requests.file()
    call_id = _call(database, "1700000000.43", request_id=request.id)
    done = client.post(
        "/agent/calls/1700000000.43/disposition", json={"code": "callback"}, headers=auth["agent"]
    )
    assert done.status_code == 200
    audited = [e for e in requests.events(request.id) if e.kind == "call_disposition"]
    assert len(audited) == 1
    assert audited[0].details == {"call_id": call_id, "code": "callback"}
    assert audited[0].actor.startswith("user:")
