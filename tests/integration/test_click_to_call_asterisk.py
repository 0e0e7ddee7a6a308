"""Click-to-call through the API and real Asterisk: the softphone, then the stored number."""

from __future__ import annotations

import dataclasses

import pytest

from agent_api import create_app
from providers.ami import AMIClient
from providers.call_control import AmiCallControl
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import AgentCall, Language, Role
from tawasul.pii import PiiProtector
from tests.helpers import Database

pytestmark = pytest.mark.asterisk

PASSWORD = "a long enough passphrase"


@pytest.mark.parametrize(
    "number, connected, result",
    [("+966501234567", True, "ANSWER"), ("+966501234569", False, "BUSY")],
)
def test_click_to_call_rings_the_softphone_then_the_stored_number(
    database: Database,
    settings: Settings,
    pii: PiiProtector,
    ami: AMIClient,
    number: str,
    connected: bool,
    result: str,
) -> None:
    settings = dataclasses.replace(settings, database_url=database.url)
    with database.sessions() as session:
        AccountService(settings.branches).create_user(
            session,
            NewUser("agent", PASSWORD, Role.AGENT, "riyadh", "Local/1001@tawasul-simulated-agents"),
        )
        request = IntakeService(pii).file_request(
            session, NewRequest("1000000008", Language.AR, "riyadh", callback_number=number)
        )
    app = create_app(
        settings,
        sessions=database.sessions,
        call_control=AmiCallControl(ami, agent_ring_s=5),
        test_config={"TESTING": True},
    )
    client = app.test_client()
    token = client.post("/auth/token", json={"username": "agent", "password": PASSWORD})
    assert token.status_code == 201, token.json
    headers = {"Authorization": f"Bearer {token.json['token']}"}
    # A body cannot choose the number: only the stored one is dialled.
    answer = client.post(f"/requests/{request.id}/call", headers=headers, json={})
    assert answer.status_code == 201, answer.json
    assert (answer.json["connected"], answer.json["result"]) == (connected, result)
    with database.sessions() as session:
        call = session.get(AgentCall, answer.json["id"])
        assert call is not None and call.request_id == request.id
