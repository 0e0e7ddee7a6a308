"""The intake use cases on a real database, without Flask or Asterisk.

Every method leaves no database transaction open (the phone menu talks to Asterisk right
after), which :func:`ivr.guard.forbid_open_transactions` checks after each call.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.guard import forbid_open_transactions
from tawasul.errors import ValidationError
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import (
    Call,
    Callback,
    CallOutcome,
    Language,
    MeetingMode,
    OutboxKind,
    OutboxMessage,
    Request,
    Requester,
    RequesterCategory,
    RequestEvent,
)
from tawasul.pii import PiiProtector
from tawasul.workflow import RequestStatus
from tests.helpers import Database

VALID_ID = "1000000008"
OTHER_ID = "2000000006"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def service(pii: PiiProtector) -> IntakeService:
    return IntakeService(pii, clock=lambda: NOW)


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """The session a call's script would use."""
    with database.sessions() as session:
        yield session


def new(national_id: str = VALID_ID) -> NewRequest:
    return NewRequest(national_id=national_id, language=Language.EN, branch="riyadh")


def test_open_call_is_committed_and_found_again(
    service: IntakeService, session: Session, database: Database
) -> None:
    guard = forbid_open_transactions(session)
    call = service.open_call(session, "1732761234.42", "0501234567")
    guard("NEXT")
    again = service.open_call(session, "1732761234.42", "0501234567")
    guard("NEXT")
    assert again.id == call.id
    with database.sessions() as other:
        assert other.scalars(select(Call)).one().caller_id == "0501234567"


def test_any_caller_id_asterisk_hands_over_is_stored_as_given(
    service: IntakeService, session: Session, database: Database
) -> None:
    caller_id = "sip-" + "9" * 40 + "'\";--<script>%00\\ü" + "x" * 18
    uniqueid = "carrier-" + "u" * 140
    service.open_call(session, uniqueid, caller_id)
    with database.sessions() as other:
        stored = other.scalars(select(Call)).one()
    assert (stored.caller_id, stored.uniqueid) == (caller_id, uniqueid)


def test_a_duplicate_open_request_is_found_and_a_partial_or_closed_one_is_not(
    service: IntakeService, session: Session
) -> None:
    guard = forbid_open_transactions(session)
    filed = service.file_request(session, new())
    call = service.open_call(session, "c1", "")
    service.start_partial_request(session, new(), call)
    closed = service.file_request(session, new())
    closed.status = RequestStatus.COMPLETED
    session.commit()
    found = service.open_requests_of(session, VALID_ID)
    guard("STREAM FILE")
    assert [r.id for r in found] == [filed.id]
    assert service.open_requests_of(session, OTHER_ID) == []
    guard("STREAM FILE")


def test_a_partial_request_keeps_each_answer_and_owes_nothing_until_complete(
    service: IntakeService, session: Session, database: Database
) -> None:
    guard = forbid_open_transactions(session)
    call = service.open_call(session, "c1", "0501234567")
    request = service.start_partial_request(session, new(), call)
    service.fill_in(session, request, category=RequesterCategory.COMPANY)
    service.fill_in(session, request, meeting_mode=MeetingMode.IN_PERSON, branch="jeddah")
    guard("STREAM FILE")
    # The caller hangs up here: what was answered is kept, nothing is owed.
    service.note_step(call, "official_no_input")
    request_id, call_id = request.id, call.id
    service.close_call(session, call, CallOutcome.HUNG_UP)
    with database.sessions() as other:
        kept = other.get(Request, request_id)
        assert kept is not None and kept.is_partial
        assert (kept.category, kept.meeting_mode, kept.branch) == (
            RequesterCategory.COMPANY,
            MeetingMode.IN_PERSON,
            "jeddah",
        )
        assert kept.target_official is None
        assert other.scalars(select(OutboxMessage)).all() == []
        assert other.scalars(select(RequestEvent)).all() == []
        ended = other.get(Call, call_id)
        assert ended is not None and ended.outcome == CallOutcome.HUNG_UP
        assert ended.request_id == request_id
        assert [e["step"] for e in ended.journey] == ["request_started", "official_no_input"]


def test_answers_held_for_the_next_commit_are_kept_when_the_caller_hangs_up(
    service: IntakeService, session: Session, database: Database
) -> None:
    guard = forbid_open_transactions(session)
    call = service.open_call(session, "c1", "0501234567")
    request = service.start_partial_request(session, new(), call)
    service.fill_in(session, request, category=RequesterCategory.WOMAN, commit=False)
    service.fill_in(session, request, target_official="minister", commit=False)
    # Held in memory, not in a database transaction: Asterisk may be talked to.
    guard("STREAM FILE")
    with database.sessions() as other:
        assert other.get(Request, request.id).category is None  # type: ignore[union-attr]
    request_id = request.id
    service.close_call(session, call, CallOutcome.HUNG_UP)
    with database.sessions() as other:
        kept = other.get(Request, request_id)
        assert kept is not None and kept.is_partial
        assert (kept.category, kept.target_official) == (RequesterCategory.WOMAN, "minister")


def test_a_failed_completion_leaves_the_request_partial_and_owes_nothing(
    service: IntakeService, session: Session, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = service.open_call(session, "c1", "0501234567")
    request = service.start_partial_request(session, new(), call)
    service.fill_in(session, request, callback_number="+966501234567", commit=False)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the SMS could not be owed")

    monkeypatch.setattr("tawasul.intake.notify", broken)
    with pytest.raises(RuntimeError):
        service.complete_request(session, request, call)
    request_id = request.id
    service.close_call(session, call, CallOutcome.FAILED)
    with database.sessions() as other:
        kept = other.get(Request, request_id)
        # The answer is kept; the completion, half done, is not.
        assert kept is not None and kept.is_partial
        assert kept.callback_number == "+966501234567"
        assert other.scalars(select(OutboxMessage)).all() == []
        assert other.scalars(select(RequestEvent)).all() == []


def test_completing_a_request_owes_its_sms_and_forwarding_with_one_created_event(
    service: IntakeService, session: Session, database: Database
) -> None:
    call = service.open_call(session, "c1", "0501234567")
    request = service.start_partial_request(session, new(), call)
    service.fill_in(session, request, callback_number="+966501234567")
    service.complete_request(session, request, call)
    with database.sessions() as other:
        kinds = sorted(m.kind for m in other.scalars(select(OutboxMessage)))
        assert kinds == [OutboxKind.FORWARD, OutboxKind.SMS]
        events = other.scalars(select(RequestEvent)).all()
        assert [(e.kind, e.to_status, e.actor, e.details) for e in events] == [
            ("created", RequestStatus.RECEIVED, "ivr", {"channel": "phone", "call": "c1"})
        ]
        filed = other.get(Request, request.id)
        assert filed is not None and not filed.is_partial
        done = other.get(Call, call.id)
        assert done is not None and done.outcome == CallOutcome.REQUEST_FILED


def test_an_invalid_national_id_starts_nothing(service: IntakeService, session: Session) -> None:
    call = service.open_call(session, "c1", "")
    with pytest.raises(ValidationError):
        service.start_partial_request(session, new("1000000001"), call)


def test_follow_up_needs_both_the_reference_and_the_last_four_digits(
    service: IntakeService, session: Session
) -> None:
    guard = forbid_open_transactions(session)
    request = service.file_request(session, new())
    assert service.find_for_follow_up(session, request.reference_number, VALID_ID[-4:]) == request
    guard("STREAM FILE")
    assert service.find_for_follow_up(session, request.reference_number, "0000") is None
    assert service.find_for_follow_up(session, "123456789", VALID_ID[-4:]) is None
    guard("STREAM FILE")


def test_a_repeat_callers_message_and_link_are_audited(
    service: IntakeService, session: Session, database: Database
) -> None:
    request = service.file_request(session, new())
    call = service.open_call(session, "c2", "")
    attachment = service.add_voice_message(session, request, "voice/call-2-added-1.wav", call)
    service.link_call(session, call, request, "added_to_existing")
    with database.sessions() as other:
        kinds = [e.kind for e in other.scalars(select(RequestEvent).order_by(RequestEvent.id))]
        assert kinds == ["created", "voice_message_added"]
        event = other.scalars(select(RequestEvent).where(RequestEvent.kind != "created")).one()
        assert event.details == {"attachment_id": attachment.id, "call": "c2"}
        linked = other.get(Call, call.id)
        assert linked is not None and linked.request_id == request.id
        assert [e["step"] for e in linked.journey] == ["added_to_existing"]


def test_sending_to_an_agent_and_booking_a_callback_commit_with_the_journey(
    service: IntakeService, session: Session, database: Database
) -> None:
    call = service.open_call(session, "c1", "0501234567")
    due = NOW + timedelta(hours=15)
    callback = service.book_callback(session, call, "+966501234567", "riyadh", due, 3)
    other_call = service.open_call(session, "c2", "")
    service.send_to_agent(session, other_call)
    with database.sessions() as other:
        stored = other.get(Callback, callback.id)
        assert stored is not None and stored.due_at == due and stored.call_id == call.id
        owed = other.scalars(select(OutboxMessage)).one()
        assert owed.kind == OutboxKind.CALLBACK and owed.available_at == due
        booked = other.get(Call, call.id)
        assert booked is not None and booked.journey[-1]["step"] == "callback_booked"
        sent = other.get(Call, other_call.id)
        assert sent is not None and sent.outcome == CallOutcome.SENT_TO_AGENT
        assert sent.journey[-1]["step"] == "to_agent"


def test_no_appointment_no_time(service: IntakeService, session: Session) -> None:
    guard = forbid_open_transactions(session)
    request = service.file_request(session, new())
    assert service.appointment_start(session, request) is None
    guard("SAY DATETIME")


def test_a_language_left_for_the_next_commit_is_kept_when_the_call_fails_first(
    service: IntakeService, session: Session, database: Database
) -> None:
    call = service.open_call(session, "c-language", "")
    service.set_language(session, call, Language.EN, commit=False)
    session.flush()  # a write of the call's that failed before its commit: rolled back
    service.close_call(session, call, CallOutcome.FAILED)
    with database.sessions() as other:
        stored = other.scalars(select(Call)).one()
    assert stored.language == Language.EN
    assert [entry["step"] for entry in stored.journey] == ["language"]


def test_look_ups_leave_the_calls_pending_steps_for_its_next_commit(
    service: IntakeService, session: Session, database: Database
) -> None:
    filed = service.file_request(session, new())
    call = service.open_call(session, "c-look-up", "")
    service.note_step(call, "national_id", "##########")
    guard = forbid_open_transactions(session)
    assert [r.id for r in service.open_requests_of(session, VALID_ID)] == [filed.id]
    assert service.find_for_follow_up(session, filed.reference_number, VALID_ID[-4:]) is filed
    guard("STREAM FILE")
    with database.sessions() as other:
        # Read beside the call's session: its step is not written by a look-up...
        assert other.scalars(select(Call)).one().journey == []
    service.save_journey(session, call)
    with database.sessions() as other:
        # ...but by its next commit.
        assert [e["step"] for e in other.scalars(select(Call)).one().journey] == ["national_id"]


def test_a_partial_request_whose_reference_is_taken_draws_another(
    service: IntakeService, session: Session, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = service.open_call(session, "c1", "0501234567")
    taken = service.start_partial_request(session, new(OTHER_ID), call).reference_number
    drawn = iter([taken, "2611300001"])
    monkeypatch.setattr("tawasul.intake.new_reference_number", lambda: next(drawn))
    second = service.open_call(session, "c2", "0501234567")
    request = service.start_partial_request(session, new(), second)
    assert request.reference_number == "2611300001"
    with database.sessions() as other:
        kept = other.get(Request, request.id)
        assert kept is not None and kept.is_partial and kept.requester is not None
        assert len(other.scalars(select(Requester)).all()) == 2
        assert other.get(Call, second.id).request_id == request.id  # type: ignore[union-attr]


def test_a_requester_filed_by_another_call_meanwhile_is_the_partial_requests(
    service: IntakeService,
    session: Session,
    database: Database,
    pii: PiiProtector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if database.engine.dialect.name == "sqlite":
        pytest.skip("on SQLite the look-up holds the write lock: no other call files meanwhile")
    call = service.open_call(session, "c1", "0501234567")
    encrypt = PiiProtector.encrypt
    raced: list[int] = []

    def another_call_files_first(protector: PiiProtector, value: str, purpose: str) -> str:
        # Between our look-up (no requester) and our insert, another call files for them.
        if not raced:
            raced.append(1)
            with database.sessions() as other:
                raced.append(IntakeService(pii).file_request(other, new()).requester_id or 0)
        return encrypt(protector, value, purpose)

    monkeypatch.setattr(PiiProtector, "encrypt", another_call_files_first)
    request = service.start_partial_request(session, new(), call)
    assert request.requester_id == raced[1]
    with database.sessions() as other:
        assert len(other.scalars(select(Requester)).all()) == 1
        assert len(other.scalars(select(Request)).all()) == 2
