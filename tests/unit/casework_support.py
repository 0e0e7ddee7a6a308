"""A small world for the core's use-case tests: a migrated SQLite database, staff, requests and
slots, a fixed clock, and a snapshot of everything a use case may change.

No Flask, no Asterisk, no Redis: the services are built by hand, as a composition root does.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from tawasul.accounts import hash_password
from tawasul.appointments import AppointmentBook
from tawasul.casework import Casework
from tawasul.db import make_engine, make_session_factory
from tawasul.identity import SmsCodeVerifier
from tawasul.migrate import upgrade
from tawasul.models import (
    Appointment,
    AppointmentSlot,
    Channel,
    IdentityVerification,
    Language,
    MeetingMode,
    OutboxMessage,
    Request,
    RequestAssignment,
    RequestEvent,
    RequestNote,
    Role,
    User,
)
from tawasul.pii import PiiProtector, generate_key
from tawasul.workflow import RequestStatus

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
"""The services' clock in these tests: every audit row and booking is stamped with it."""
BRANCHES = ("riyadh", "jeddah")
VIDEO_BASE = "https://meet.test/room"
CODE = "424242"
"""The one-time code the test verifier always draws."""

Refusal = TypeVar("Refusal", bound=Exception)

_template: Path | None = None
_references = itertools.count(1)


def migrated_sqlite(directory: Path) -> sessionmaker[Session]:
    """A fresh SQLite database at the latest migration, in ``directory``.

    The migrations run once per test session into a template file that each test copies:
    the same schema as production, without paying for Alembic in every test.
    """
    global _template
    if _template is None:
        template = Path(tempfile.mkdtemp(prefix="tawasul-unit-")) / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        _template = template
    target = directory / "tawasul.db"
    shutil.copyfile(_template, target)
    return make_session_factory(make_engine(f"sqlite:///{target}"))


@dataclass
class World:
    """The staff, the services under test and helpers to set up and inspect requests."""

    sessions: sessionmaker[Session]
    book: AppointmentBook
    casework: Casework
    agent: User
    supervisor: User
    admin: User
    jeddah_agent: User
    other_agent: User

    @classmethod
    def build(cls, sessions: sessionmaker[Session]) -> World:
        """Staff of both branches, and the services on the fixed clock."""
        book = AppointmentBook(BRANCHES, VIDEO_BASE, clock=lambda: NOW)
        verifier = SmsCodeVerifier(
            PiiProtector.from_master_key(generate_key()),
            clock=lambda: NOW,
            make_code=lambda: CODE,
        )
        casework = Casework(book, verifier, clock=lambda: NOW)
        password = hash_password("not-used-by-these-tests")
        with sessions() as session:
            staff = {
                name: User(
                    username=name,
                    password_hash=password,
                    role=role,
                    branch=branch,
                    extension="PJSIP/1001",
                    is_active=True,
                    failed_logins=0,
                    session_version=1,
                    created_at=NOW,
                )
                for name, role, branch in (
                    ("agent", Role.AGENT, "riyadh"),
                    ("supervisor", Role.SUPERVISOR, "riyadh"),
                    ("admin", Role.ADMIN, "riyadh"),
                    ("jeddah-agent", Role.AGENT, "jeddah"),
                    ("other-agent", Role.AGENT, "riyadh"),
                )
            }
            session.add_all(staff.values())
            session.commit()
        return cls(
            sessions,
            book,
            casework,
            staff["agent"],
            staff["supervisor"],
            staff["admin"],
            staff["jeddah-agent"],
            staff["other-agent"],
        )

    def request(
        self,
        status: RequestStatus = RequestStatus.RECEIVED,
        branch: str = "riyadh",
        callback_number: str | None = "+966501234567",
    ) -> int:
        """Store a request in ``status`` (as the workflow would have left it) and return its id."""
        with self.sessions() as session:
            request = Request(
                reference_number=f"T{next(_references):08d}",
                channel=Channel.PHONE,
                status=status,
                is_partial=False,
                branch=branch,
                callback_number=callback_number,
                language=Language.AR,
                created_at=NOW - timedelta(days=1),
                updated_at=NOW - timedelta(days=1),
            )
            session.add(request)
            session.commit()
            return request.id

    def slot(
        self,
        capacity: int = 1,
        branch: str = "riyadh",
        mode: MeetingMode = MeetingMode.IN_PERSON,
        starts_in: timedelta = timedelta(days=3),
    ) -> int:
        """Store an empty slot starting ``starts_in`` after the clock and return its id."""
        with self.sessions() as session:
            slot = AppointmentSlot(
                branch=branch,
                mode=mode,
                starts_at=NOW + starts_in,
                ends_at=NOW + starts_in + timedelta(minutes=30),
                capacity=capacity,
                booked=0,
                created_at=NOW,
            )
            session.add(slot)
            session.commit()
            return slot.id

    def booked(self, slot_id: int) -> int:
        """How many places of the slot are taken, as stored."""
        with self.sessions() as session:
            slot = session.get(AppointmentSlot, slot_id)
            assert slot is not None
            return slot.booked

    def stored(self, request_id: int) -> Request:
        """The request as stored now."""
        with self.sessions() as session:
            request = session.get(Request, request_id)
            assert request is not None
            return request

    def events(self, request_id: int) -> list[RequestEvent]:
        """The request's audit trail as stored, oldest first."""
        return self._of_request(RequestEvent, request_id)

    def outbox(self, request_id: int) -> list[OutboxMessage]:
        """What the request is owed (SMS, forwarding), oldest first."""
        return self._of_request(OutboxMessage, request_id)

    def _of_request(self, model: Any, request_id: int) -> list[Any]:
        with self.sessions() as session:
            query = select(model).where(model.request_id == request_id).order_by(model.id)
            return list(session.scalars(query))

    def snapshot(self, request_id: int) -> dict[str, Any]:
        """Everything about a request a use case may change, to compare before and after."""
        with self.sessions() as session:
            request = session.get(Request, request_id)
            assert request is not None

            def rows(model: Any, column: Any) -> list[tuple[Any, ...]]:
                mapper = inspect(model)
                found = session.scalars(
                    select(model).where(column == request_id).order_by(*mapper.primary_key)
                )
                return [
                    tuple(getattr(row, attr.key) for attr in mapper.column_attrs) for row in found
                ]

            return {
                "request": (
                    request.status,
                    request.category,
                    request.meeting_mode,
                    request.target_official,
                    request.language,
                    request.updated_at,
                ),
                "events": rows(RequestEvent, RequestEvent.request_id),
                "outbox": rows(OutboxMessage, OutboxMessage.request_id),
                "notes": rows(RequestNote, RequestNote.request_id),
                "assignment": rows(RequestAssignment, RequestAssignment.request_id),
                "appointments": rows(Appointment, Appointment.request_id),
                "verifications": rows(IdentityVerification, IdentityVerification.request_id),
                "slots_booked": session.scalar(
                    select(func.coalesce(func.sum(AppointmentSlot.booked), 0))
                ),
            }

    def refused(
        self,
        request_id: int,
        error: type[Refusal],
        use_case: Callable[[Session], object],
        commit: bool = True,
    ) -> Refusal:
        """Run a use case that must raise ``error`` and leave the request as it was.

        With ``commit``, the caller's session is committed after the error: a use case that
        left half of its change in the session would be caught storing it.
        """
        before = self.snapshot(request_id)
        with self.sessions() as session:
            with pytest.raises(error) as raised:
                use_case(session)
            if commit:
                session.commit()
        assert self.snapshot(request_id) == before
        return raised.value
