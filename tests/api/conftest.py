"""Fixtures of the API tests: the app on a fresh database, a client, staff, and requests."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from agent_api import create_app
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import (
    Language,
    OutboxKind,
    OutboxMessage,
    Request,
    RequestEvent,
    Role,
    User,
)
from tawasul.pii import PiiProtector
from tests.api.support import PASSWORD, RecordingCallControl, valid_national_id
from tests.helpers import Database


@pytest.fixture
def calls() -> RecordingCallControl:
    """The fake telephony the app places click-to-calls through."""
    return RecordingCallControl()


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    """Settings of the API under test."""
    return dataclasses.replace(settings, video_meeting_base_url="https://meet.test/room")


@pytest.fixture
def app(database: Database, api_settings: Settings, calls: RecordingCallControl) -> Flask:
    """The agent API on a fresh database (SQLite and PostgreSQL)."""
    return create_app(
        api_settings,
        sessions=database.sessions,
        call_control=calls,
        test_config={"TESTING": True},
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


class Staff:
    """Creates accounts and hands out bearer-token headers for them."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._accounts = AccountService(settings.branches)

    def add(
        self,
        username: str,
        role: Role = Role.AGENT,
        branch: str = "riyadh",
        extension: str | None = "PJSIP/1001",
    ) -> User:
        with self._database.sessions() as session:
            return self._accounts.create_user(
                session, NewUser(username, PASSWORD, role, branch, extension)
            )

    def headers(self, user: User) -> dict[str, str]:
        with self._database.sessions() as session:
            fresh = session.get(User, user.id)
            assert fresh is not None
            _, plain = self._accounts.issue_token(session, fresh, "tests")
        return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def staff(database: Database, api_settings: Settings) -> Staff:
    """Account factory."""
    return Staff(database, api_settings)


@dataclass
class Auth:
    """Bearer headers of a standard cast: agents and supervisors of Riyadh and Jeddah, an admin."""

    users: dict[str, User]
    headers: dict[str, dict[str, str]]

    def __getitem__(self, name: str) -> dict[str, str]:
        return self.headers[name]


@pytest.fixture
def auth(staff: Staff) -> Auth:
    """The cast, each with a bearer token."""
    cast = {
        "agent": (Role.AGENT, "riyadh"),
        "supervisor": (Role.SUPERVISOR, "riyadh"),
        "admin": (Role.ADMIN, "riyadh"),
        "jeddah_agent": (Role.AGENT, "jeddah"),
        "jeddah_supervisor": (Role.SUPERVISOR, "jeddah"),
    }
    users = {
        name: staff.add(name.replace("_", "-"), role, branch)
        for name, (role, branch) in cast.items()
    }
    return Auth(users, {name: staff.headers(user) for name, user in users.items()})


class Requests:
    """Files requests the way the IVR does, and reads back what they owe and what was audited."""

    def __init__(self, database: Database, pii: PiiProtector) -> None:
        self._database = database
        self._intake = IntakeService(pii)

    def file(
        self,
        branch: str = "riyadh",
        callback_number: str | None = "+966501234567",
        language: Language = Language.AR,
        **columns: Any,
    ) -> Request:
        with self._database.sessions() as session:
            request = self._intake.file_request(
                session,
                NewRequest(valid_national_id(), language, branch, callback_number=callback_number),
            )
            for name, value in columns.items():
                setattr(request, name, value)
            session.commit()
            return request

    def outbox(self, request_id: int, kind: OutboxKind | None = None) -> list[OutboxMessage]:
        with self._database.sessions() as session:
            query = select(OutboxMessage).where(OutboxMessage.request_id == request_id)
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            return list(session.scalars(query.order_by(OutboxMessage.id)))

    def sms_stages(self, request_id: int) -> list[str]:
        return [row.payload["stage"] for row in self.outbox(request_id, OutboxKind.SMS)]

    def events(self, request_id: int) -> list[RequestEvent]:
        with self._database.sessions() as session:
            return list(
                session.scalars(
                    select(RequestEvent)
                    .where(RequestEvent.request_id == request_id)
                    .order_by(RequestEvent.id)
                )
            )

    def get(self, request_id: int) -> Request:
        with self._database.sessions() as session:
            found = session.get(Request, request_id)
            assert found is not None
            return found


@pytest.fixture
def requests(database: Database, pii: PiiProtector) -> Iterator[Requests]:
    """Request factory and inspector."""
    yield Requests(database, pii)
