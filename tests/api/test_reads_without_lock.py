"""The console's pages are read without the write lock: an IVR call's open transaction does not
hold them up (on SQLite a transaction that writes holds the whole database's lock)."""

from __future__ import annotations

import time

from sqlalchemy import select, update

from tawasul.models import Request, User
from tests.api.support import PASSWORD

READ_WITHIN_S = 5.0
"""Far below the busy timeout (30 s) a read that waited for the lock would spend."""


def test_the_console_reads_while_a_call_holds_the_write_lock(client, staff, requests, database):
    staff.add("agent")
    filed = requests.file(callback_number="+966501234567")
    signed_in = client.post("/auth/login", json={"username": "agent", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.json
    claimed = client.post(
        f"/requests/{filed.id}/claim",
        json={"category": "man"},
        headers={"X-CSRF-Token": signed_in.json["csrf_token"]},
    )
    assert claimed.status_code == 200, claimed.json
    call = database.sessions()
    try:
        # A call's transaction, left open after its first write (SQLite: BEGIN IMMEDIATE).
        call.execute(update(Request).where(Request.id == filed.id).values(target_official="x"))
        for path in (
            "/requests?limit=25",
            "/requests?mine=true&limit=25",
            "/requests/counts",
            "/requests/counts?mine=true",
            f"/requests?reference_number={filed.reference_number}",
            "/requests?phone_last=4567",
            f"/requests/{filed.id}",
            f"/requests/{filed.id}/casefile",
            "/auth/me",
        ):
            started = time.monotonic()
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.json)
            assert time.monotonic() - started < READ_WITHIN_S, path
            if path.startswith("/requests?"):
                assert [item["id"] for item in answer.json["items"]] == [filed.id], path
    finally:
        call.rollback()
        call.close()


def test_an_integration_s_bearer_token_reads_while_a_call_holds_the_write_lock(
    client, staff, requests, database
):
    staff.add("agent")
    filed = requests.file()
    issued = client.post("/auth/token", json={"username": "agent", "password": PASSWORD})
    assert issued.status_code == 201, issued.json
    bearer = {"Authorization": f"Bearer {issued.json['token']}"}
    assert client.get("/requests?limit=1", headers=bearer).status_code == 200  # stamps its use
    call = database.sessions()
    try:
        call.execute(update(Request).where(Request.id == filed.id).values(target_official="x"))
        started = time.monotonic()
        answer = client.get("/requests?limit=25", headers=bearer)
        assert answer.status_code == 200, answer.json
        assert time.monotonic() - started < READ_WITHIN_S  # its last use, stamped within the
        # minute, is not written again
    finally:
        call.rollback()
        call.close()


def test_a_token_s_last_use_is_stamped_at_most_once_a_minute(staff, database):
    from datetime import UTC, datetime, timedelta

    from tawasul.accounts import AccountService
    from tawasul.models import ApiToken

    user = staff.add("agent")
    now = [datetime(2026, 11, 30, 9, 0, tzinfo=UTC)]
    accounts = AccountService(("riyadh", "jeddah", "medina"), clock=lambda: now[0])

    def used(plain: str) -> datetime | None:
        with database.sessions() as session:
            use = accounts.token_use(session, plain)
            assert use is not None and use.user.id == user.id
            if use.stamp_due:
                accounts.stamp_token_use(session, use.token_id)
        with database.sessions() as session:
            return session.scalars(select(ApiToken.last_used_at)).one()

    with database.sessions() as session:
        _token, plain = accounts.issue_token(session, session.get(User, user.id), "portal")
    first = now[0]
    assert used(plain) == first
    now[0] = first + timedelta(seconds=59)
    assert used(plain) == first  # not written again within the minute
    now[0] = first + timedelta(seconds=61)
    assert used(plain) == now[0]
    with database.sessions() as session:
        assert accounts.token_use(session, "tws_not-a-token") is None
