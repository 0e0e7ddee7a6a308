"""The console's own routes: the page, actions per user and status, the audited ID reveal, the
history, presence without telephony, the event stream, screen-pops and live queues."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import select

from agent_api.services import CONSOLE_EXTENSION as EXTENSION
from tawasul.models import RequestEvent
from tests.api.support import PASSWORD


def test_the_page_is_public_and_locked_down(client):
    page = client.get("/console/")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert b'data-signed-in="true"' not in page.data
    assert client.get("/console/app.js").status_code == 200
    assert client.get("/console/../agent_api/__init__.py").status_code == 404


def test_the_page_knows_a_signed_in_session(client, auth):
    answer = client.post("/auth/login", json={"username": "agent", "password": PASSWORD})
    assert answer.status_code == 200
    assert b'data-signed-in="true"' in client.get("/console/").data


def test_actions_follow_the_status_and_the_role(client, auth, requests):
    rid = requests.file().id
    agent = client.get(f"/requests/{rid}/casefile", headers=auth["agent"]).json
    assert agent["actions"] == ["claim", "cancel", "note", "call", "reveal_national_id"]
    supervisor = client.get(f"/requests/{rid}/casefile", headers=auth["supervisor"]).json
    assert "reassign" in supervisor["actions"]
    assert agent["national_id_masked"].startswith(("1", "2"))
    assert agent["national_id_masked"][1:] == "*" * 9

    client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    with_status = client.get(f"/requests/{rid}/casefile", headers=auth["agent"]).json
    assert with_status["actions"][:3] == ["release", "verify", "cancel"]


def test_deciding_is_offered_to_supervisors_only(client, auth, requests):
    from tawasul.workflow import RequestStatus

    rid = requests.file(status=RequestStatus.IDENTITY_VERIFIED).id
    agent = client.get(f"/requests/{rid}/casefile", headers=auth["agent"]).json["actions"]
    supervisor = client.get(f"/requests/{rid}/casefile", headers=auth["supervisor"]).json
    assert "approve" not in agent and "reject" not in agent
    assert supervisor["actions"][:2] == ["approve", "reject"]
    other = client.get(f"/requests/{rid}/casefile", headers=auth["jeddah_supervisor"])
    assert other.status_code == 404


def test_the_national_id_reveal_is_audited_and_never_cached(client, auth, requests, database):
    rid = requests.file().id
    revealed = client.post(f"/requests/{rid}/national-id/reveal", headers=auth["agent"])
    assert revealed.status_code == 200
    assert len(revealed.json["national_id"]) == 10
    assert revealed.headers["Cache-Control"] == "no-store"
    with database.sessions() as session:
        events = session.scalars(
            select(RequestEvent).where(RequestEvent.kind == "national_id_revealed")
        ).all()
    assert [(e.request_id, e.actor) for e in events] == [(rid, f"user:{auth.users['agent'].id}")]
    history = client.get(f"/requests/{rid}/casefile", headers=auth["agent"]).json["history"]
    assert [entry["kind"] for entry in history] == ["created", "national_id_revealed"]
    assert revealed.json["national_id"] not in json.dumps(history)
    other = client.post(f"/requests/{rid}/national-id/reveal", headers=auth["jeddah_agent"])
    assert other.status_code == 404


def test_mine_lists_only_the_users_requests(client, auth, requests):
    mine, other = requests.file().id, requests.file().id
    client.post(f"/requests/{mine}/claim", json={"category": "woman"}, headers=auth["agent"])
    client.post(f"/requests/{other}/claim", json={"category": "man"}, headers=auth["supervisor"])
    listed = client.get("/requests?mine=true", headers=auth["agent"]).json["items"]
    assert [item["id"] for item in listed] == [mine]
    counts = client.get("/requests/counts?mine=true", headers=auth["agent"]).json["counts"]
    assert counts["in_review"] == 1


def test_presence_without_telephony_is_unknown_and_changes_are_503(client, auth):
    assert client.get("/agent/state", headers=auth["agent"]).json == {
        "state": "unknown",
        "telephony": False,
    }
    answer = client.put("/agent/state", json={"state": "ready"}, headers=auth["agent"])
    assert answer.status_code == 503


def test_live_queues_are_for_supervisors(client, auth):
    assert client.get("/queues/live", headers=auth["agent"]).status_code == 403
    answer = client.get("/queues/live", headers=auth["supervisor"]).json
    assert [item["branch"] for item in answer["items"]] == ["riyadh"]
    assert answer["items"][0]["callbacks_pending"] == 0
    assert answer["targets"]["threshold_s"] == 60


def test_the_stream_needs_an_event_stream_client(client, auth):
    assert client.get("/agent/stream", headers=auth["agent"]).status_code == 406


def test_the_stream_carries_new_requests_of_the_branch_only(app, client, auth, requests):
    app.config["TAWASUL_STREAM_MAX_S"] = 3
    hub = app.extensions[EXTENSION].hub
    hub._poll_s = 0.1
    received: dict[str, bytes] = {}

    def listen(name: str) -> None:
        headers = {**auth[name], "Accept": "text/event-stream"}
        received[name] = app.test_client().get("/agent/stream", headers=headers).data

    threads = [threading.Thread(target=listen, args=(n,)) for n in ("agent", "jeddah_agent")]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2
    while hub.listening() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the watcher has read where the audit trail stands
    rid = requests.file().id
    for thread in threads:
        thread.join(10)
    assert f'"request_id":{rid}'.encode() in received["agent"]
    assert b"event: request_filed" in received["agent"]
    assert b"request_filed" not in received["jeddah_agent"]


def test_a_screen_pop_is_its_agents_only_and_matches_the_callers_open_requests(
    app, client, auth, requests
):
    hub = app.extensions[EXTENSION].hub
    filed = requests.file(callback_number="+966501234567")
    requests.file(callback_number="+966509999999")
    hub.handle_ami_event(
        {
            "Event": "AgentConnect",
            "Queue": "tawasul-riyadh",
            "Interface": "PJSIP/1001",
            "CallerIDNum": "0501234567",
        }
    )
    pops = list(hub._pops.values())
    owners = {pop.user_id for pop in pops}
    # Every active account of that softphone gets the pop (the cast shares PJSIP/1001).
    assert auth.users["agent"].id in owners
    mine = next(pop for pop in pops if pop.user_id == auth.users["agent"].id)
    answer = client.get(f"/agent/screen-pops/{mine.id}", headers=auth["agent"]).json
    assert [item["id"] for item in answer["requests"]] == [filed.id]
    assert answer["caller_id_masked"] == "05*****567"
    theirs = client.get(f"/agent/screen-pops/{mine.id}", headers=auth["jeddah_agent"])
    assert theirs.status_code == 404
