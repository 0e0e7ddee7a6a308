"""Composition root of the IVR processes: builds the database, services and the call runner."""

from __future__ import annotations

from sqlalchemy import Engine

from ivr.scripts import SCRIPTS
from ivr.server import CallRunner, FastAGIServer
from tawasul import security_log
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.intake import IntakeService
from tawasul.pii import PiiProtector


def build_runner(settings: Settings, engine: Engine | None = None) -> CallRunner:
    """Wire the call runner for these settings (fails closed without a secret key), on
    ``engine`` when given, else on an engine of its own."""
    engine = engine or make_engine(settings.resolved_database_url())
    pii = PiiProtector.from_master_key(settings.resolved_secret_key())
    sessions = make_session_factory(engine)
    security_log.install(sessions)
    return CallRunner(settings, sessions, IntakeService(pii), SCRIPTS)


def build_server(settings: Settings, engine: Engine | None = None) -> FastAGIServer:
    """Return a FastAGI server bound to the configured address, not yet serving."""
    return FastAGIServer((settings.agi_host, settings.agi_port), build_runner(settings, engine))
