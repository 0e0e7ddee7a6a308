"""Short row-independent locks for checks that must not race (per-number SMS limits)."""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def lock_for_update(session: Session, key: str) -> None:
    """Hold a lock on ``key`` until the session's transaction ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: every write transaction already
    holds the database's single write lock (BEGIN IMMEDIATE), so nothing more is needed.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode())})
