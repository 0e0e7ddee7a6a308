"""The console's pages are read without the write lock: an IVR call's open transaction does not
hold them up (on SQLite a transaction that writes holds the whole database's lock)."""

from __future__ import annotations

import time

from sqlalchemy import update

from tawasul.models import Request
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
