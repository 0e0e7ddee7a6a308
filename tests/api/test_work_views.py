"""The work comes to you: each role's default view, new work of the branch and the requests
awaiting a decision, oldest first, each with its age and when it falls due (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tawasul.models import utcnow
from tawasul.workflow import RequestStatus
from tests.api.support import PASSWORD


def test_each_role_lands_on_the_work_it_does_first(client, auth):
    agent = client.get("/auth/me", headers=auth["agent"]).json
    assert agent["default_view"] == "new_work"
    assert "awaiting_decision" not in agent["views"]
    supervisor = client.get("/auth/me", headers=auth["supervisor"]).json
    assert supervisor["default_view"] == "awaiting_decision"
    assert supervisor["views"] == ["new_work", "awaiting_decision", "mine", "all"]
    signed_in = client.post("/auth/login", json={"username": "supervisor", "password": PASSWORD})
    assert signed_in.json["default_view"] == "awaiting_decision"


def test_new_work_of_the_branch_comes_oldest_first_with_its_age_and_due(client, auth, requests):
    now = utcnow()
    newest = requests.file(created_at=now - timedelta(hours=1), forwarded_at=now).id
    oldest = requests.file(created_at=now - timedelta(days=2)).id
    middle = requests.file(created_at=now - timedelta(hours=23, minutes=30), forwarded_at=now).id
    requests.file(created_at=now - timedelta(days=3), branch="jeddah")
    requests.file(created_at=now - timedelta(days=4), status=RequestStatus.IN_REVIEW)
    answer = client.get("/requests?view=new_work", headers=auth["agent"])
    assert answer.status_code == 200
    items = answer.json["items"]
    assert [item["id"] for item in items] == [oldest, middle, newest]
    by_id = {item["id"]: item for item in items}
    assert 2 * 86400 - 5 <= by_id[oldest]["age_s"] <= 2 * 86400 + 60
    # Never forwarded, two days old: past its same-day cut-off.
    assert by_id[oldest]["due"]["kind"] == "forwarding_cutoff"
    assert by_id[oldest]["due"]["state"] == "overdue"
    # Forwarded: the service target, 24 h after arrival; half an hour left is near.
    assert by_id[middle]["due"]["kind"] == "service_target"
    assert by_id[middle]["due"]["state"] == "near"
    due_at = datetime.fromisoformat(by_id[middle]["due"]["at"]).astimezone(UTC)
    expected = requests.get(middle).created_at + timedelta(hours=24)
    assert abs((due_at - expected).total_seconds()) < 1
    assert by_id[newest]["due"] == {**by_id[newest]["due"], "state": "ok"}
    # The request's own page says the same.
    page = client.get(f"/requests/{oldest}", headers=auth["agent"]).json
    assert page["due"] == by_id[oldest]["due"]
    assert by_id[oldest]["age_s"] <= page["age_s"] <= by_id[oldest]["age_s"] + 60


def test_awaiting_my_decision_is_for_supervisors_of_the_branch(client, auth, requests):
    now = utcnow()
    later = requests.file(
        created_at=now - timedelta(hours=2), status=RequestStatus.IDENTITY_VERIFIED
    ).id
    first = requests.file(
        created_at=now - timedelta(hours=5), status=RequestStatus.IDENTITY_VERIFIED
    ).id
    requests.file(status=RequestStatus.IDENTITY_VERIFIED, branch="jeddah")
    requests.file(status=RequestStatus.RECEIVED)
    answer = client.get("/requests?view=awaiting_decision", headers=auth["supervisor"])
    assert [item["id"] for item in answer.json["items"]] == [first, later]
    refused = client.get("/requests?view=awaiting_decision", headers=auth["agent"])
    assert refused.status_code == 403
    assert refused.json["error"] == "forbidden"
    both = client.get("/requests?view=new_work&status=approved", headers=auth["agent"])
    assert both.status_code == 422
    assert both.json["details"]["field"] == "status"
    unknown = client.get("/requests?view=everything", headers=auth["agent"])
    assert unknown.status_code == 422
    assert unknown.json["details"]["field"] == "view"


def test_mine_and_closed_requests_owe_nothing(client, auth, requests):
    mine = requests.file().id
    client.post(f"/requests/{mine}/claim", json={"category": "man"}, headers=auth["agent"])
    requests.file(status=RequestStatus.COMPLETED)
    listed = client.get("/requests?view=mine", headers=auth["agent"]).json["items"]
    assert [item["id"] for item in listed] == [mine]
    closed = client.get("/requests?view=all&status=completed", headers=auth["agent"]).json
    assert [item["due"] for item in closed["items"]] == [None]
    assert closed["items"][0]["age_s"] >= 0


def test_a_views_counts(client, auth, requests):
    requests.file()
    requests.file()
    requests.file(status=RequestStatus.IDENTITY_VERIFIED)
    counts = client.get("/requests/counts?view=new_work", headers=auth["agent"]).json["counts"]
    assert counts["received"] == 2 and sum(counts.values()) == 2
    decide = client.get("/requests/counts?view=awaiting_decision", headers=auth["supervisor"])
    assert sum(decide.json["counts"].values()) == 1
    assert (
        client.get("/requests/counts?view=awaiting_decision", headers=auth["agent"]).status_code
        == 403
    )
