"""What the views reach for: the database and the core services, wired once per app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, g
from sqlalchemy.orm import Session, sessionmaker

from tawasul.accounts import AccountService
from tawasul.appointments import AppointmentBook
from tawasul.attachments import AttachmentStore
from tawasul.casework import Casework
from tawasul.click_to_call import ClickToCall
from tawasul.config import Settings
from tawasul.models import User

EXTENSION = "tawasul"


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


def services() -> Services:
    """The services of the running app."""
    found: Services = current_app.extensions[EXTENSION]
    return found


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
