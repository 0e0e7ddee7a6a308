"""Composition root of ``tawasul events``: the database, and the AMI client it records from."""

from __future__ import annotations

import logging

from providers import build
from providers.events import EventRecorder
from tawasul import security_log
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul_cli.lifecycle import wait_for_termination

log = logging.getLogger(__name__)


def run_events(settings: Settings) -> int:
    """Listen until SIGINT or SIGTERM; reconnects by itself across Asterisk restarts."""
    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    security_log.install(sessions)
    recorder = EventRecorder(sessions)
    ami = build.ami_client(settings, "events")
    ami.add_listener(recorder)
    ami.start(wait_s=10, require=False)
    wait_for_termination()
    ami.close()
    log.info("events listener stopped after %d events", recorder.recorded)
    return 0
