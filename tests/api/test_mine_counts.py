"""The console's "mine": its counts (from the tally per assignee) agree with its list and with
the assignments after every action that gives, takes or moves a request (SQLite and
PostgreSQL)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from tawasul.models import Channel, Request, RequestAssignment


def _assigned(database, user_id):
    """What the user works, per status, counted from the assignment rows."""
    with database.sessions() as session:
        rows = session.execute(
            select(Request.status, func.count())
            .join(RequestAssignment, RequestAssignment.request_id == Request.id)
            .where(RequestAssignment.user_id == user_id)
            .group_by(Request.status)
        ).all()
    return {status.value: number for status, number in rows}


def _check(client, auth, database):
    for name in ("agent", "supervisor", "agent_two", "jeddah_agent"):
        headers = auth[name]
        counts = client.get("/requests/counts?mine=true", headers=headers).json["counts"]
        viewed = client.get("/requests/counts?view=mine", headers=headers).json["counts"]
        listed = client.get("/requests?mine=true&limit=200", headers=headers).json["items"]
        shown = {status: n for status, n in counts.items() if n}
        assert shown == dict(Counter(item["status"] for item in listed))
        assert shown == _assigned(database, auth.users[name].id)
        assert viewed == counts
        faxes = client.get("/requests/counts?mine=true&channel=fax", headers=headers).json
        assert {s: n for s, n in faxes["counts"].items() if n} == dict(
            Counter(item["status"] for item in listed if item["channel"] == "fax")
        )


def test_mine_counts_follow_every_action(client, auth, requests, staff, database):
    auth.users["agent_two"] = two = staff.add("agent-two")
    auth.headers["agent_two"] = staff.headers(two)
    first, second, third = (requests.file().id for _ in range(3))
    fax = requests.file(channel=Channel.FAX).id
    jeddah = requests.file(branch="jeddah").id
    _check(client, auth, database)

    def post(path, name, body=None):
        answer = client.post(f"/requests/{path}", json=body or {}, headers=auth[name])
        assert answer.status_code in (200, 201), answer.json
        _check(client, auth, database)

    post(f"{first}/claim", "agent", {"category": "woman"})
    post(f"{second}/claim", "agent", {"category": "man"})
    post(f"{fax}/claim", "agent", {"category": "company"})
    post(f"{third}/claim", "supervisor", {"category": "man"})
    post(f"{jeddah}/claim", "jeddah_agent", {"category": "man"})
    post(f"{second}/assignment", "supervisor", {"user_id": two.id})
    post(f"{third}/release", "supervisor")
    post(f"{third}/assignment", "supervisor", {"user_id": auth.users["agent"].id})
    post(f"{first}/verify-in-person", "agent", {"document": "national_id"})
    post(f"{first}/approve", "supervisor")
    post(f"{fax}/cancel", "agent", {"reason": "called off"})
    post(f"{second}/reject", "supervisor", {"reason": "not within the official's remit"})
    counts = client.get("/requests/counts?mine=true", headers=auth["agent"]).json["counts"]
    # Closed requests stay with who worked them; a reassigned one follows its new assignee.
    assert {status: n for status, n in counts.items() if n} == {
        "approved": 1,
        "cancelled": 1,
        "received": 1,
    }
    mine_two = client.get("/requests/counts?mine=true", headers=auth["agent_two"]).json
    assert {status: n for status, n in mine_two["counts"].items() if n} == {"rejected": 1}
