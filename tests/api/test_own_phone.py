"""Staff who take calls and those who do not: one's own phone, presence without a 422, and one
answer about telephony for ``/agent/state`` and ``/queues/live``."""

from __future__ import annotations

import pytest
from flask import Flask

from agent_api import create_app
from tawasul.models import Role
from tests.unit.test_presence import FakeQueues


@pytest.fixture
def telephony_app(database, api_settings, calls) -> tuple[Flask, FakeQueues]:
    """The API with queue membership through a fake Asterisk."""
    queues = FakeQueues()
    app = create_app(
        api_settings,
        sessions=database.sessions,
        call_control=calls,
        queue_membership=queues,
        test_config={"TESTING": True},
    )
    return app, queues


def test_agents_take_calls_and_other_staff_do_not_by_default(client, auth):
    me = client.get("/auth/me", headers=auth["agent"]).json["user"]
    assert me["takes_calls"] is True
    assert client.get("/auth/me", headers=auth["supervisor"]).json["user"]["takes_calls"] is False
    assert client.get("/auth/me", headers=auth["admin"]).json["user"]["takes_calls"] is False


def test_a_supervisor_sets_their_own_phone_and_takes_calls(client, staff):
    boss = staff.add("boss", Role.SUPERVISOR, extension=None)
    headers = staff.headers(boss)
    refused = client.patch("/auth/me", json={"takes_calls": True}, headers=headers)
    assert refused.status_code == 422
    assert refused.json["error"] == "invalid-input"
    assert refused.json["details"]["field"] == "extension"
    bad = client.patch("/auth/me", json={"extension": "1001"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json["details"]["field"] == "extension"
    done = client.patch(
        "/auth/me", json={"extension": "PJSIP/2001", "takes_calls": True}, headers=headers
    )
    assert done.status_code == 200
    assert done.json["user"]["extension"] == "PJSIP/2001"
    assert done.json["user"]["takes_calls"] is True
    assert client.get("/auth/me", headers=headers).json["user"]["takes_calls"] is True
    empty = client.patch("/auth/me", json={}, headers=headers)
    assert empty.status_code == 422
    wrong_type = client.patch("/auth/me", json={"takes_calls": "yes"}, headers=headers)
    assert wrong_type.status_code == 422
    assert wrong_type.json["details"]["field"] == "takes_calls"


def test_presence_of_staff_who_take_no_calls_is_a_200_that_says_so(telephony_app, auth):
    app, queues = telephony_app
    client = app.test_client()
    answer = client.get("/agent/state", headers=auth["supervisor"])
    assert answer.status_code == 200
    assert answer.json == {"state": "not_an_agent", "takes_calls": False, "telephony": True}
    live = client.get("/queues/live", headers=auth["supervisor"]).json
    assert live["telephony"] is answer.json["telephony"]
    joining = client.put("/agent/state", json={"state": "ready"}, headers=auth["supervisor"])
    assert joining.status_code == 409
    assert joining.json["error"] == "not-an-agent"
    assert queues.calls == []


def test_an_agent_without_an_extension_is_told_so_not_refused(telephony_app, staff):
    app, _ = telephony_app
    headers = staff.headers(staff.add("newcomer", Role.AGENT, extension=None))
    answer = app.test_client().get("/agent/state", headers=headers)
    assert answer.status_code == 200
    assert answer.json["state"] == "no_extension"
    # One an admin typed that is no softphone endpoint is not usable either.
    odd = staff.headers(staff.add("odd", Role.AGENT, extension="1001"))
    assert app.test_client().get("/agent/state", headers=odd).json["state"] == "no_extension"


def test_stopping_taking_calls_leaves_the_queue(telephony_app, auth):
    app, queues = telephony_app
    client = app.test_client()
    client.put("/agent/state", json={"state": "ready"}, headers=auth["agent"])
    assert ("tawasul-riyadh", "PJSIP/1001") in queues.members
    assert client.get("/agent/state", headers=auth["agent"]).json["state"] == "ready"
    done = client.patch("/auth/me", json={"takes_calls": False}, headers=auth["agent"])
    assert done.json["user"]["takes_calls"] is False
    assert ("tawasul-riyadh", "PJSIP/1001") not in queues.members
    assert client.get("/agent/state", headers=auth["agent"]).json["state"] == "not_an_agent"


def test_a_new_phone_leaves_the_queue_on_the_old_one(telephony_app, auth):
    app, queues = telephony_app
    client = app.test_client()
    client.put("/agent/state", json={"state": "ready"}, headers=auth["agent"])
    refused = client.patch("/auth/me", json={"extension": "PJSIP 7"}, headers=auth["agent"])
    assert refused.status_code == 422
    assert ("tawasul-riyadh", "PJSIP/1001") in queues.members  # nothing changed
    moved = client.patch("/auth/me", json={"extension": "PJSIP/1009"}, headers=auth["agent"])
    assert moved.status_code == 200
    assert ("tawasul-riyadh", "PJSIP/1001") not in queues.members
    assert client.get("/agent/state", headers=auth["agent"]).json["state"] == "logged_out"


def test_an_admin_who_takes_an_agent_off_calls_logs_them_out(telephony_app, auth):
    app, queues = telephony_app
    client = app.test_client()
    client.put("/agent/state", json={"state": "ready"}, headers=auth["jeddah_agent"])
    assert ("tawasul-jeddah", "PJSIP/1001") in queues.members
    agent_id = auth.users["jeddah_agent"].id
    done = client.patch(f"/users/{agent_id}", json={"takes_calls": False}, headers=auth["admin"])
    assert done.status_code == 200 and done.json["user"]["takes_calls"] is False
    assert ("tawasul-jeddah", "PJSIP/1001") not in queues.members


def test_without_telephony_both_answers_agree(client, auth):
    state = client.get("/agent/state", headers=auth["supervisor"]).json
    live = client.get("/queues/live", headers=auth["supervisor"]).json
    assert state["telephony"] is False
    assert live["telephony"] is False


def test_screen_pops_go_to_staff_who_take_calls_only(app, auth):
    from agent_api.services import CONSOLE_EXTENSION

    hub = app.extensions[CONSOLE_EXTENSION].hub
    hub.handle_ami_event(
        {
            "Event": "AgentConnect",
            "Queue": "tawasul-riyadh",
            "Interface": "PJSIP/1001",
            "CallerIDNum": "0501234567",
        }
    )
    owners = {pop.user_id for pop in hub._pops.values()}
    # The whole cast shares PJSIP/1001; only the agents take calls.
    assert owners == {auth.users["agent"].id, auth.users["jeddah_agent"].id}
