"""What the views reach for: the database and the core services, wired once per app."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from agent_api.live import LiveHub
from tawasul.accounts import AccountService
from tawasul.appointments import AppointmentBook
from tawasul.attachments import AttachmentStore
from tawasul.casefile import Casefile
from tawasul.casework import Casework
from tawasul.click_to_call import ClickToCall
from tawasul.config import Settings
from tawasul.errors import TelephonyUnavailable, ValidationError
from tawasul.models import User
from tawasul.pii import PiiProtector
from tawasul.presence import PresenceService, PresenceState, QueueMembership

log = logging.getLogger(__name__)

EXTENSION = "tawasul"
CONSOLE_EXTENSION = "tawasul.console"


@dataclass
class Services:
    """The app's collaborators, built by ``create_app``."""

    settings: Settings
    sessions: sessionmaker[Session]
    accounts: AccountService
    casework: Casework
    book: AppointmentBook
    attachments: AttachmentStore
    click_to_call: ClickToCall | None
    redis: Any
    ami: Any


@dataclass
class Console:
    """What the console's own routes need beyond the API's services."""

    hub: LiveHub
    casefile: Casefile
    presence: PresenceService | None
    membership: QueueMembership | None


def services() -> Services:
    """The services of the running app."""
    found: Services = current_app.extensions[EXTENSION]
    return found


def console() -> Console:
    """The console services of the running app."""
    found: Console = current_app.extensions[CONSOLE_EXTENSION]
    return found


def install_console(
    app: Flask,
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    ami: Any = None,
    membership: QueueMembership | None = None,
) -> Console:
    """Wire the console's services into the app and let them hear Asterisk's events.

    Args:
        app: the agent API.
        settings: the process's settings.
        sessions: the database session factory (the live watcher reads with it).
        ami: the API's AMI client (``add_listener``), or None: no screen-pop, no live queues.
        membership: queue membership through Asterisk, or None: presence answers 503.

    Returns:
        The console's services.
    """
    presence = PresenceService(membership) if membership is not None else None
    pii = PiiProtector.from_master_key(settings.resolved_secret_key())
    hub = LiveHub(sessions, presence, after_call_work_s=settings.after_call_work_s)
    wired = Console(hub, Casefile(pii), presence, membership)
    app.extensions[CONSOLE_EXTENSION] = wired
    # /health only needs the client's ``connected``: a client without events gives no pops.
    add_listener = getattr(ami, "add_listener", None)
    if callable(add_listener):
        add_listener(wired.hub.on_ami_event)
    return wired


def telephony_available() -> bool:
    """Whether the console reaches Asterisk now: the one answer ``/agent/state`` and
    ``/queues/live`` both give (queue membership wired, and the AMI link up when there is one)."""
    if console().membership is None:
        return False
    connected = getattr(services().ami, "connected", None)
    return connected is None or bool(connected.is_set())


def leave_queue(person: User) -> None:
    """Log someone who stops taking calls out of their branch queue, when Asterisk is there
    (a failure is logged: the flag still changes, and Asterisk drops no caller for it)."""
    presence = console().presence
    if presence is None or not person.takes_calls or not (person.extension or "").strip():
        return
    db().commit()  # no database lock held while Asterisk answers
    try:
        presence.change(person, PresenceState.LOGGED_OUT, None)
    except (TelephonyUnavailable, ValidationError) as exc:
        log.warning("user %s stops taking calls; queue logout failed: %s", person.id, exc)


def db() -> Session:
    """The database session of this HTTP request (closed when the request ends)."""
    if "db" not in g:
        g.db = services().sessions()
    session: Session = g.db
    return session


def user() -> User:
    """The signed-in user (set by the authentication hook before any protected view)."""
    current: User = g.user
    return current
