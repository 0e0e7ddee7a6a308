"""Reassigning means choosing from the branch's active staff, a list every role may read."""

from __future__ import annotations

from tawasul.models import Role


def test_agents_and_supervisors_list_their_branchs_active_staff(client, auth, staff):
    gone = staff.add("gone", Role.AGENT)
    client.patch(f"/users/{gone.id}", json={"is_active": False}, headers=auth["admin"])
    for who in ("agent", "supervisor"):
        answer = client.get("/users/staff", headers=auth[who])
        assert answer.status_code == 200, answer.json
        assert answer.json["branch"] == "riyadh"
        assert answer.json["items"] == [
            {
                "id": auth.users["agent"].id,
                "name": "agent",
                "role": "agent",
                "takes_calls": True,
                "extension": "PJSIP/1001",
            },
            {
                "id": auth.users["supervisor"].id,
                "name": "supervisor",
                "role": "supervisor",
                "takes_calls": False,
                "extension": "PJSIP/1001",
            },
        ]
    other = client.get("/users/staff?branch=jeddah", headers=auth["agent"])
    assert other.status_code == 404
    admin = client.get("/users/staff?branch=jeddah", headers=auth["admin"]).json
    assert [item["name"] for item in admin["items"]] == ["jeddah-agent", "jeddah-supervisor"]
    assert client.get("/users/staff?branch=nowhere", headers=auth["admin"]).status_code == 404


def test_whoever_is_listed_can_be_given_the_request(client, auth, requests):
    rid = requests.file().id
    listed = client.get("/users/staff", headers=auth["supervisor"]).json["items"]
    for person in listed:
        body = {"user_id": person["id"]}
        given = client.post(f"/requests/{rid}/assignment", json=body, headers=auth["supervisor"])
        assert given.status_code == 200, given.json
        assert given.json["assigned_to"] == person["id"]
