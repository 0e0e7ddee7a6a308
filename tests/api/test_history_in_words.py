"""A request's history as people read it: newest first, each actor by name and role or as a
part of the system, notes with their text and author (SQLite and PostgreSQL)."""

from __future__ import annotations

from tawasul.models import Call, CallOutcome


def test_history_is_newest_first_with_names_and_note_authors(client, auth, requests, database):
    rid = requests.file().id
    with database.sessions() as session:
        session.add(
            Call(
                uniqueid="1700000000.1",
                caller_id="+966501234567",
                started_at=requests.get(rid).created_at,
                outcome=CallOutcome.REQUEST_FILED,
                request_id=rid,
            )
        )
        session.commit()
    agent, supervisor = auth.users["agent"], auth.users["supervisor"]
    claimed = client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    assert claimed.status_code == 200
    client.post(f"/requests/{rid}/notes", json={"text": "called twice"}, headers=auth["agent"])
    client.post(f"/requests/{rid}/notes", json={"text": "ID seen"}, headers=auth["supervisor"])

    answer = client.get(f"/requests/{rid}/history", headers=auth["agent"])
    assert answer.status_code == 200
    items = answer.json["items"]
    stamps = [item["at"] for item in items]
    assert stamps == sorted(stamps, reverse=True)
    assert items[0]["kind"] == "note"
    assert items[0]["note"] == {
        "id": items[0]["note"]["id"],
        "text": "ID seen",
        "author": {"id": supervisor.id, "name": "supervisor", "role": "supervisor"},
    }
    assert items[0]["actor"] == items[0]["note"]["author"]
    assert items[1]["note"]["text"] == "called twice"
    assert items[1]["note"]["author"] == {"id": agent.id, "name": "agent", "role": "agent"}
    kinds = [item["kind"] for item in items]
    assert kinds.count("note") == 2  # the notes' audit rows are not listed twice
    claim = next(item for item in items if item["status"] == "in_review")
    assert claim["actor"] == {"id": agent.id, "name": "agent", "role": "agent"}
    created = next(item for item in items if item["kind"] == "created")
    assert created["actor"] == {"system": "ivr"}
    call = next(item for item in items if item["kind"] == "ivr_call")
    assert call["actor"] == {"system": "ivr"}
    assert call["status"] == "request_filed"
    assert kinds.index("created") > kinds.index("note")
    for item in items:
        assert "user:" not in str(item["actor"])

    given = client.post(
        f"/requests/{rid}/assignment", json={"user_id": supervisor.id}, headers=auth["supervisor"]
    )
    assert given.status_code == 200
    latest = client.get(f"/requests/{rid}/history", headers=auth["agent"]).json["items"][0]
    assert latest["kind"] == "reassigned"
    assert latest["people"] == {
        "from_user": {"id": agent.id, "name": "agent", "role": "agent"},
        "to_user": {"id": supervisor.id, "name": "supervisor", "role": "supervisor"},
    }

    other = client.get(f"/requests/{rid}/history", headers=auth["jeddah_agent"])
    assert other.status_code == 404
    assert client.get(f"/requests/{rid}/history?x=1", headers=auth["agent"]).status_code == 422
