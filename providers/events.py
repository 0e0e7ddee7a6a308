"""``tawasul events``: the long-running AMI listener that records queue and agent events."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.ami import AMIClient, Message
from tawasul import security_log
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.lifecycle import wait_for_termination
from tawasul.metrics.ingest import QUEUE_EVENTS, ingest

log = logging.getLogger(__name__)


class EventRecorder:
    """An AMI listener that records the events the metrics are computed from."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self.recorded = 0

    def __call__(self, event: Message) -> None:
        if event.get("Event") not in QUEUE_EVENTS:
            return
        try:
            with self._sessions() as session:
                if ingest(session, event):
                    self.recorded += 1
        except SQLAlchemyError:
            # Logged with the event name only; the next events still go through.
            log.exception("could not record %s", event.get("Event"))


def run_events(settings: Settings) -> int:
    """Listen until SIGINT or SIGTERM; reconnects by itself across Asterisk restarts."""
    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    security_log.install(sessions)
    recorder = EventRecorder(sessions)
    ami = AMIClient(
        settings.ami_host,
        settings.ami_port,
        settings.ami_username,
        settings.resolved_ami_secret(),
        name="events",
    )
    ami.add_listener(recorder)
    ami.start(wait_s=10, require=False)
    wait_for_termination()
    ami.close()
    log.info("events listener stopped after %d events", recorder.recorded)
    return 0
