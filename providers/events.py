"""``tawasul events``: the long-running AMI listener that records queue and agent events."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from providers.ami import Message
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
