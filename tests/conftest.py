"""Fixtures for every test layer: settings, and a fresh database on SQLite or PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tawasul.config import Settings
from tawasul.db import (
    empty_postgres_database,
    ensure_postgres_database,
    make_engine,
    make_session_factory,
)
from tawasul.migrate import upgrade
from tawasul.pii import PiiProtector, generate_key
from tests.helpers import Database

POSTGRES_ENV = "TAWASUL_TEST_POSTGRES_URL"


def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set: CI must run every test on PostgreSQL too")
        pytest.skip(f"{POSTGRES_ENV} not set (make test sets it)")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        # Each pytest-xdist worker gets a database of its own, created on first use.
        parsed = make_url(url)
        url = parsed.set(database=f"{parsed.database}_{worker}").render_as_string(False)
        ensure_postgres_database(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database at the latest migration, on each supported backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tawasul.db'}"
    else:
        url = _postgres_url()
        empty_postgres_database(url)
    engine = make_engine(url)
    upgrade(engine)
    yield Database(url, engine, make_session_factory(engine))
    engine.dispose()


@pytest.fixture
def secret_key() -> str:
    """A fresh personal-data master key."""
    return generate_key()


@pytest.fixture
def pii(secret_key: str) -> PiiProtector:
    """The protector for that key."""
    return PiiProtector.from_master_key(secret_key)


@pytest.fixture
def settings(tmp_path: Path, secret_key: str) -> Settings:
    """Settings for a test: its own var directory and key."""
    return dataclasses.replace(Settings(), var_dir=tmp_path / "var", secret_key=secret_key)
