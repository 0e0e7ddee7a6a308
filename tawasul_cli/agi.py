"""Composition root of the IVR processes: builds the database, services and the call runner."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import configure_mappers

from ivr.scripts import SCRIPTS
from ivr.server import CallRunner, FastAGIServer
from tawasul import security_log
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.intake import IntakeService
from tawasul.pii import PiiProtector

AGI_CONNECTIONS = 60
"""Database connections the FastAGI processes of one server keep open between them."""


def pool_options(processes: int = 1) -> dict[str, Any]:
    """The connection pool of one FastAGI process among ``processes``: a fixed set of
    connections, kept open, that calls wait for rather than open more.

    Each call holds a connection only between two AGI commands, a few milliseconds, but the
    engine's default (10 kept, 40 more on demand) opened a connection for every transaction
    past the tenth at once and closed it again on return: at 200 calls in flight on
    PostgreSQL, opening connections (a backend forked, authentication, several round trips)
    was a sixth of the time the call threads spent not waiting for Asterisk (py-spy,
    bench/results/calls-pg-waits.txt). A wait for one of these is shorter than that.
    """
    return {"pool_size": max(5, AGI_CONNECTIONS // max(1, processes)), "max_overflow": 0}


def build_runner(
    settings: Settings, engine: Engine | None = None, processes: int = 1
) -> CallRunner:
    """Wire the call runner for these settings (fails closed without a secret key), on
    ``engine`` when given, else on an engine of its own (one process of ``processes``)."""
    engine = engine or make_engine(settings.resolved_database_url(), **pool_options(processes))
    # Before the first call, not during it: the first use of the models configures every
    # mapper under one lock, and a process started (or restarted) while calls arrive had its
    # first calls queue behind it (py-spy, bench/results/calls-pg-waits.txt).
    configure_mappers()
    pii = PiiProtector.from_master_key(settings.resolved_secret_key())
    sessions = make_session_factory(engine)
    security_log.install(sessions)
    return CallRunner(settings, sessions, IntakeService(pii), SCRIPTS)


def build_server(settings: Settings, engine: Engine | None = None) -> FastAGIServer:
    """Return a FastAGI server bound to the configured address, not yet serving."""
    return FastAGIServer((settings.agi_host, settings.agi_port), build_runner(settings, engine))
