"""The phone menu's flows on a scripted Asterisk: no database transaction spans an AGI command,
and no recording of a caller is left in Asterisk's spool, whatever the path.

The database is real (SQLite and PostgreSQL); Asterisk is :class:`FakeAsterisk`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, select, text
from sqlalchemy.orm import Session

from ivr import variables as var
from ivr.agi import Channel
from ivr.guard import TransactionSpansCommand, forbid_open_transactions
from ivr.scripts import SCRIPTS, intake
from ivr.scripts.base import CallContext
from ivr.server import CallRunner
from tawasul.config import Settings
from tawasul.db import READ_ONLY
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import (
    Attachment,
    Call,
    CallOutcome,
    Language,
    OutboxMessage,
    Request,
    Requester,
)
from tawasul.pii import PiiProtector
from tawasul.vault import MAGIC, vault_for
from tawasul.workflow import OPEN_STATUSES, RequestStatus
from tests.helpers import Database
from tests.unit.fake_asterisk import FakeAsterisk

VALID_ID = "1000000008"

NEW_REQUEST = {
    "recording_notice": ["2"],
    "main_menu": ["1"],
    "enter_national_id": [VALID_ID],
    "you_entered": ["1"],
    "choose_category": ["1"],
    "choose_official": ["1"],
    "choose_meeting_mode": ["2"],
    "callback_number_is": ["1"],
    "message_menu": ["3"],
}
"""English, 1 new request, the ID confirmed, man, the minister, video, the caller ID, a message
saved."""


@pytest.fixture
def open_settings(settings: Settings, tmp_path: Path, database: Database) -> Settings:
    """Open around the clock, Asterisk's files under a directory of the test's own."""
    return dataclasses.replace(
        settings,
        database_url=database.url,
        asterisk_root=str(tmp_path / "asterisk"),
        working_days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        working_hours="00:00-23:59:59",
    )


def run_call(
    channel: Channel, settings: Settings, database: Database, intake_service: IntakeService
) -> Call:
    """Run the intake script as the FastAGI server does; return the call's row."""
    CallRunner(settings, database.sessions, intake_service, SCRIPTS).run(channel, "intake")
    with database.sessions() as session:
        return session.scalars(select(Call)).one()


def steps(call: Call) -> list[str]:
    return [entry["step"] for entry in call.journey]


def test_a_whole_new_request_runs_with_no_transaction_across_a_command(
    open_settings: Settings, database: Database, pii: PiiProtector
) -> None:
    channel = FakeAsterisk(open_settings, NEW_REQUEST)
    call = run_call(channel, open_settings, database, IntakeService(pii))
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    assert ("SET VARIABLE", var.AGI_STATUS) in channel.sent
    with database.sessions() as session:
        request = session.scalars(select(Request)).one()
        assert not request.is_partial and request.voice_message_path is not None
        stored = open_settings.var_dir / request.voice_message_path
        assert vault_for(open_settings).read(stored)[:4] == b"RIFF"
    assert channel.spooled() == []


def test_a_new_request_writes_twice_between_the_callers_first_key_and_the_reference(
    open_settings: Settings, database: Database, pii: PiiProtector
) -> None:
    # Every write between two keys queues for SQLite's one write lock while the caller types
    # ahead: the partial request, then the filing; the rest goes with them, the look-ups read.
    channel = FakeAsterisk(open_settings, NEW_REQUEST)
    writes: list[int] = []

    def began(connection: Connection) -> None:
        if not connection.get_execution_options().get(READ_ONLY, False):
            writes.append(len(channel.sent))  # the AGI commands sent before it

    event.listen(database.engine, "begin", began)
    try:
        call = run_call(channel, open_settings, database, IntakeService(pii))
    finally:
        event.remove(database.engine, "begin", began)
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    reference = channel.sent.index(("SET VARIABLE", var.REFERENCE))
    saved = channel.sent.index(("STREAM FILE", "request_saved"))
    # The call's own record first (before any prompt); then, up to the reference read back,
    # the partial request and the filing (after it, the caller is sent on and the call ends).
    assert writes[0] == 0
    assert [w for w in writes[1:] if w <= saved] == [reference, saved]
    with database.sessions() as session:
        request = session.scalars(select(Request)).one()
        assert request.callback_number is not None and request.category is not None
        assert session.scalars(select(Call)).one().language == Language.EN


class _ReadLeftOpen(IntakeService):
    """The mistake the guard is there for: a read whose transaction is not ended."""

    def open_requests_of(self, session: Session, national_id: str) -> list[Request]:
        return list(
            session.scalars(
                select(Request)
                .join(Requester)
                .where(Requester.national_id_hash == self._pii.fingerprint(national_id))
                .where(Request.status.in_(OPEN_STATUSES))
            )
        )


def _file_open_request(database: Database, pii: PiiProtector) -> Request:
    with database.sessions() as session:
        return IntakeService(pii).file_request(
            session, NewRequest(national_id=VALID_ID, language=Language.EN, branch="riyadh")
        )


def test_the_guard_trips_when_a_flow_keeps_a_read_open_across_a_prompt(
    open_settings: Settings, database: Database, pii: PiiProtector
) -> None:
    _file_open_request(database, pii)
    channel = FakeAsterisk(open_settings, NEW_REQUEST)
    with database.sessions() as session:
        channel.before_command = forbid_open_transactions(session)
        ctx = CallContext(open_settings, session, _ReadLeftOpen(pii))
        with pytest.raises(TransactionSpansCommand, match="STREAM FILE"):
            intake.run(channel, ctx)
    # The very next command after the read was refused, before it reached Asterisk.
    assert channel.sent[-1] == ("STREAM FILE", "you_entered")


def test_through_the_server_a_tripped_guard_fails_the_call_down_the_dialplan_path(
    open_settings: Settings, database: Database, pii: PiiProtector, caplog: pytest.LogCaptureFixture
) -> None:
    _file_open_request(database, pii)
    channel = FakeAsterisk(open_settings, NEW_REQUEST)
    with caplog.at_level(logging.ERROR):
        CallRunner(open_settings, database.sessions, _ReadLeftOpen(pii), SCRIPTS).run(
            channel, "intake"
        )
    with database.sessions() as session:
        call = session.scalars(select(Call)).one()
    assert call.outcome == CallOutcome.FAILED
    assert "TransactionSpansCommand" in caplog.text


def test_a_caller_at_the_duplicate_prompt_holds_no_lock(
    open_settings: Settings, database: Database, pii: PiiProtector
) -> None:
    service = IntakeService(pii)
    _file_open_request(database, pii)
    writes: list[str] = []

    def another_caller_writes(prompt: str) -> None:
        if prompt != "duplicate_options":
            return
        # Meanwhile, another call's first write: on SQLite it needs the write lock at once.
        with database.engine.connect() as other:
            if database.engine.dialect.name == "sqlite":
                other.exec_driver_sql("PRAGMA busy_timeout=0")
            else:
                other.execute(text("SET lock_timeout = '1ms'"))
            other.execute(
                text(
                    "INSERT INTO call (uniqueid, started_at, journey, outcome) "
                    "VALUES ('other', CURRENT_TIMESTAMP, '[]', 'in_progress')"
                )
            )
            other.commit()
        writes.append(prompt)

    keys = {**NEW_REQUEST, "duplicate_options": ["2"]}
    channel = FakeAsterisk(open_settings, keys, during=another_caller_writes)
    CallRunner(open_settings, database.sessions, service, SCRIPTS).run(channel, "intake")
    assert writes == ["duplicate_options"]
    with database.sessions() as session:
        call = session.scalars(select(Call).where(Call.uniqueid == channel.uniqueid)).one()
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    assert "duplicate_found" in steps(call)


@pytest.mark.parametrize("hang_up_at", ["RECORD FILE", "message_menu", "message_saved"])
def test_a_new_requests_message_cut_by_a_hang_up_is_kept_encrypted_and_nothing_spooled(
    open_settings: Settings, database: Database, pii: PiiProtector, hang_up_at: str
) -> None:
    channel = FakeAsterisk(open_settings, NEW_REQUEST, hang_up_at=hang_up_at)
    call = run_call(channel, open_settings, database, IntakeService(pii))
    assert call.outcome == CallOutcome.HUNG_UP
    assert channel.spooled() == []
    with database.sessions() as session:
        request = session.scalars(select(Request)).one()
        assert request.is_partial
        assert request.voice_message_path is not None
        assert session.scalars(select(OutboxMessage)).all() == []
    stored = open_settings.var_dir / request.voice_message_path
    assert stored.read_bytes().startswith(MAGIC)
    message = vault_for(open_settings).read(stored)
    # The sizes Asterisk had not written yet are set: players see the whole message.
    assert int.from_bytes(message[40:44], "little") == len(message) - 44 > 0


def test_a_follow_up_message_cut_by_a_hang_up_leaves_nothing(
    open_settings: Settings, database: Database, pii: PiiProtector
) -> None:
    service = IntakeService(pii)
    with database.sessions() as session:
        request = service.file_request(
            session, NewRequest(national_id=VALID_ID, language=Language.EN, branch="riyadh")
        )
        request.status = RequestStatus.IN_REVIEW
        session.commit()
        reference = request.reference_number
    keys = {
        "recording_notice": ["2"],
        "main_menu": ["2"],
        "enter_reference": [reference],
        "enter_id_last4": [VALID_ID[-4:]],
        "follow_up_options": ["1"],
    }
    channel = FakeAsterisk(open_settings, keys, hang_up_at="message_menu")
    CallRunner(open_settings, database.sessions, service, SCRIPTS).run(channel, "intake")
    assert channel.spooled() == []
    with database.sessions() as session:
        assert session.scalars(select(Attachment)).all() == []
    assert not list((open_settings.var_dir / "voice").glob("*"))


def test_three_re_records_leave_nothing_in_the_spool(
    open_settings: Settings, database: Database, pii: PiiProtector
) -> None:
    keys = {**NEW_REQUEST, "message_menu": ["2", "2", "2"]}
    channel = FakeAsterisk(open_settings, keys)
    call = run_call(channel, open_settings, database, IntakeService(pii))
    assert call.outcome == CallOutcome.REQUEST_FILED
    assert channel.spooled() == []
