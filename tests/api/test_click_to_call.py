"""Click-to-call: the agent's softphone first, then the number stored with the request."""

from __future__ import annotations

import pytest

from tawasul.models import AgentCall
from tawasul.ports import CallLeg


def test_the_agent_is_rung_then_the_stored_number(client, auth, requests, calls, database):
    rid = requests.file(callback_number="+966501112233").id
    answer = client.post(f"/requests/{rid}/call", headers=auth["agent"])
    assert answer.status_code == 201, answer.json
    assert answer.json["connected"] is True and answer.json["result"] == "ANSWER"
    assert len(calls.calls) == 1
    first, number, variables, _timeout = calls.calls[0]
    assert (first, number) == ("PJSIP/1001", "+966501112233")
    assert variables == {
        "TAWASUL_REQUEST_ID": str(rid),
        "TAWASUL_AGENT_CALL_ID": str(answer.json["id"]),
    }
    with database.sessions() as session:
        call = session.get(AgentCall, answer.json["id"])
        assert (call.request_id, call.user_id) == (rid, auth.users["agent"].id)
    assert [e.kind for e in requests.events(rid)][-2:] == ["call_started", "call_ended"]


def test_a_body_chooses_the_softphone_never_the_number(client, auth, requests, calls):
    rid = requests.file(callback_number="+966501112233").id
    smuggled = {"extension": "PJSIP/2002", "number": "+966509999999"}
    assert (
        client.post(f"/requests/{rid}/call", json=smuggled, headers=auth["agent"]).status_code
        == 422
    )
    assert calls.calls == []
    answer = client.post(
        f"/requests/{rid}/call", json={"extension": "PJSIP/2002"}, headers=auth["agent"]
    )
    assert answer.status_code == 201
    assert calls.calls[0][:2] == ("PJSIP/2002", "+966501112233")


@pytest.mark.parametrize(
    "extension",
    [
        "PJSIP/1001\r\nAction: Command\r\nCommand: core stop now",
        "PJSIP/1001\nAction: Command",
        "PJSIP/1001 ",
        "Local/1001@ctx,n",
        "PJSIP/1001;x",
        "PJSIP/1001:5060",
        "",
    ],
)
def test_an_ami_header_injection_is_refused_before_the_port(
    client, auth, requests, calls, extension
):
    rid = requests.file().id
    answer = client.post(
        f"/requests/{rid}/call", json={"extension": extension}, headers=auth["agent"]
    )
    assert answer.status_code == 422, answer.json
    assert calls.calls == []


def test_an_injected_profile_extension_is_refused_too(client, auth, requests, calls, database):
    from tawasul.models import User

    with database.sessions() as session:
        user = session.get(User, auth.users["agent"].id)
        user.extension = "PJSIP/1001\r\nAction: Command"  # written behind the API's back
        session.commit()
    rid = requests.file().id
    answer = client.post(f"/requests/{rid}/call", headers=auth["agent"])
    assert answer.status_code == 422
    assert answer.json["details"]["field"] == "extension"
    assert calls.calls == []
    profile = client.patch(
        "/auth/me", json={"extension": "PJSIP/1\r\nAction: Command"}, headers=auth["agent"]
    )
    assert profile.status_code == 422


def test_no_callback_number_and_telephony_down(client, auth, requests, calls):
    rid = requests.file(callback_number=None).id
    answer = client.post(f"/requests/{rid}/call", headers=auth["agent"])
    assert answer.status_code == 422 and answer.json["details"]["field"] == "callback_number"
    assert calls.calls == []

    rid = requests.file().id
    calls.fail = True
    down = client.post(f"/requests/{rid}/call", headers=auth["agent"])
    assert down.status_code == 503 and down.json["error"] == "telephony-unavailable"
    ended = requests.events(rid)[-1]
    assert ended.kind == "call_ended" and ended.details["result"] == "UNAVAILABLE"


def test_an_unanswered_call_is_recorded(client, auth, requests, calls):
    calls.answer = CallLeg(False, "NOANSWER")
    rid = requests.file().id
    answer = client.post(f"/requests/{rid}/call", headers=auth["agent"])
    assert answer.status_code == 201
    assert answer.json["connected"] is False and answer.json["result"] == "NOANSWER"
