"""A page of requests costs the same few queries whatever its length (no query per row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event

from tawasul.models import IdentityVerification, Role, VerificationStatus
from tests.api.support import PASSWORD
from tests.api.test_request_workflow import SLOT_START, open_slot, verify


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block."""
    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_page_costs_the_same_queries_whatever_its_length(client, auth, requests, database):
    agent, supervisor = auth["agent"], auth["supervisor"]
    ids = [requests.file().id for _ in range(8)]
    for rid in ids[:4]:
        claimed = client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=agent)
        assert claimed.status_code == 200, claimed.json
    scheduled = ids[0]
    verify(client, agent, requests, scheduled)
    assert client.post(f"/requests/{scheduled}/approve", headers=supervisor).status_code == 200
    slot = open_slot(client, supervisor)
    booked = client.post(f"/requests/{scheduled}/schedule", json={"slot_id": slot}, headers=agent)
    assert booked.status_code == 200, booked.json

    def page(limit: int) -> tuple[list[dict[str, Any]], int]:
        with counted(database.engine) as statements:
            answer = client.get("/requests", query_string={"limit": limit}, headers=agent)
        assert answer.status_code == 200, answer.json
        return answer.json["items"], len(statements)

    short, few = page(2)
    full, many = page(8)
    assert len(short) == 2 and len(full) == 8
    assert many == few
    # Each row of the page is what the request's own page shows: assignee, appointment and all.
    assert any(item["appointment"] for item in full)
    assert sum(item["assigned_to"] is not None for item in full) == 4
    for item in full:
        alone = client.get(f"/requests/{item['id']}", headers=agent).json
        # The page also says how old the request is and when it falls due (as the work views).
        assert set(alone) - set(item) == {"age_s", "due"}
        assert item == {key: alone[key] for key in item}


def test_a_console_page_is_four_selects_mine_and_the_views_too(client, staff, requests, database):
    """The user, the page with each row's appointment and identity state, the rows'
    duplicates, their SMS: pinned, so that a query per page cannot come back unseen."""
    staff.add("pinned", Role.AGENT)
    login = client.post("/auth/login", json={"username": "pinned", "password": PASSWORD})
    assert login.status_code == 200, login.json
    csrf = {"X-CSRF-Token": login.json["csrf_token"]}
    ids = [requests.file().id for _ in range(3)]
    claimed = client.post(f"/requests/{ids[0]}/claim", json={"category": "man"}, headers=csrf)
    assert claimed.status_code == 200, claimed.json
    for query in ({"limit": 25}, {"limit": 25, "mine": "true"}, {"view": "new_work"}):
        with counted(database.engine) as statements:
            answer = client.get("/requests", query_string=query)
        assert answer.status_code == 200, answer.json
        assert answer.json["items"]
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 4, [" ".join(s.split())[:90] for s in selects]


def test_a_row_shows_the_newest_appointment_and_verified_check_as_its_own_page(
    client, auth, requests, database
):
    """The page's joins pick what the request's page picks: the newest booked appointment,
    the newest verified check, and whether any check was started (the actions depend on it)."""
    agent, supervisor = auth["agent"], auth["supervisor"]
    pending, moved = requests.file().id, requests.file().id
    for rid in (pending, moved):
        claimed = client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=agent)
        assert claimed.status_code == 200, claimed.json
    started = client.post(f"/requests/{pending}/verification", headers=agent)
    assert started.status_code == 201, started.json
    verify(client, agent, requests, moved)
    assert client.post(f"/requests/{moved}/approve", headers=supervisor).status_code == 200
    first = open_slot(client, supervisor)
    second = open_slot(client, supervisor, starts_at=SLOT_START.replace(hour=11).isoformat())
    for slot in (first, second):
        booked = client.post(f"/requests/{moved}/schedule", json={"slot_id": slot}, headers=agent)
        assert booked.status_code == 200, booked.json
    with database.sessions() as session:
        session.add(
            IdentityVerification(
                request_id=moved,
                provider="in_person",
                status=VerificationStatus.VERIFIED,
                expires_at=datetime.now(UTC) + timedelta(minutes=5),
                started_by=auth.users["supervisor"].id,
                verified_at=datetime.now(UTC),
            )
        )
        session.commit()

    listed = client.get("/requests", query_string={"limit": 10}, headers=agent)
    assert listed.status_code == 200, listed.json
    rows = {item["id"]: item for item in listed.json["items"]}
    assert rows[moved]["appointment"]["slot_id"] == second
    assert rows[moved]["identity"]["method"] == "in_person"
    assert rows[pending]["identity"] is None
    for rid in (pending, moved):
        alone = client.get(f"/requests/{rid}", headers=agent).json
        assert rows[rid] == {key: alone[key] for key in rows[rid]}
