"""Security events are recorded with actor and time, and exported for an incident report."""

from __future__ import annotations

import csv
import io
import logging

from flask.testing import FlaskClient
from sqlalchemy import select

from tawasul.models import SecurityEvent
from tawasul.security_log import LOGGER, SecurityEventWriter
from tests.api.conftest import PASSWORD, Auth, Requests
from tests.helpers import Database


def events(database: Database) -> list[tuple[str, str, dict[str, str]]]:
    with database.sessions() as session:
        rows = session.scalars(select(SecurityEvent).order_by(SecurityEvent.id)).all()
        return [(row.kind, row.actor, row.details) for row in rows]


def test_refusals_are_recorded_and_exported(
    client: FlaskClient, auth: Auth, requests: Requests, database: Database
) -> None:
    agent = auth.users["agent"]
    for _ in range(4):
        assert (
            client.post("/auth/token", json={"username": "agent", "password": "nope"}).status_code
            == 401
        )
    locked = client.post("/auth/token", json={"username": "agent", "password": "nope"})
    assert locked.status_code == 429
    assert (
        client.post("/auth/token", json={"username": "ghost", "password": "x"}).status_code == 401
    )
    request = requests.file()
    denied = client.post(f"/requests/{request.id}/approve", headers=auth["agent"], json={})
    assert denied.status_code == 403
    portal = client.post(
        "/portal/requests", data=b"{}", headers={"Content-Type": "application/json"}
    )
    assert portal.status_code == 401

    for handler in LOGGER.handlers:
        if isinstance(handler, SecurityEventWriter):
            assert handler.wait_stored()
    kinds = [kind for kind, _, _ in events(database)]
    assert kinds.count("login_failed") == 6
    assert kinds.count("account_locked") == 1
    assert "permission_denied" in kinds and "portal_signature_refused" in kinds
    recorded = {kind: (actor, details) for kind, actor, details in events(database)}
    assert recorded["account_locked"][0] == f"user:{agent.id}"
    assert recorded["permission_denied"][0] == f"user:{agent.id}"
    assert recorded["permission_denied"][1]["endpoint"] == "requests.approve"
    assert ("login_failed", "username:ghost", {"reason": "unknown"}) in events(database)
    assert PASSWORD not in str(events(database)) and "nope" not in str(events(database))

    answer = client.get("/security/events?format=csv", headers=auth["admin"])
    assert answer.status_code == 200
    exported = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert [row["kind"] for row in exported] == kinds
    assert all(row["at"] for row in exported)
    assert client.get("/security/events", headers=auth["supervisor"]).status_code == 403


def test_the_writer_never_breaks_the_caller(database: Database) -> None:
    writer = SecurityEventWriter(database.sessions)
    writer.RETRY_FOR_S = 0.5
    broken = logging.LogRecord("tawasul.security", logging.WARNING, __file__, 1, "x", None, None)
    broken.security_event = ("login_failed", "user:1", {"x": object()})  # not JSON: cannot store
    writer.emit(broken)  # returns at once; the failure stays in the writer's thread
    assert writer.wait_stored(10)
    assert events(database) == []
