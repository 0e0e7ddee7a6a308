"""The phone menu end to end through real Asterisk: new request, partial requests on hang-up,
duplicates, follow-up, three strikes and out of hours.

The scripted caller answers during the prompt it answers (every question can be answered while
it plays), after a wait long enough for the prompt to have started on a loaded machine.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.simulator import message_wait, new_request_script
from tawasul.config import Settings
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import (
    Attachment,
    Call,
    Callback,
    CallOutcome,
    Language,
    MeetingMode,
    OutboxMessage,
    Request,
    RequesterCategory,
)
from tawasul.pii import PiiProtector
from tawasul.vault import vault_for
from tawasul.workflow import RequestStatus
from tests.integration.support import IVR, Phone, finished_call

pytestmark = pytest.mark.asterisk

VALID_ID = "1000000008"
OTHER_ID = "2000000006"
CALLER = "0501234567"

# English; the caller presses 2 during the recording notice.
ENGLISH = "w1/2/w2"
NEW_REQUEST = "1/w2"


def full_request_script(national_id: str = VALID_ID) -> str:
    """Menu 1, ID, confirm, man, the minister, video, caller ID confirmed, message, save."""
    return new_request_script(national_id)


def steps(call: Call) -> list[str]:
    return [entry["step"] for entry in call.journey]


def test_new_request_in_english_with_every_step(ivr: IVR, phone: Phone, pii: PiiProtector) -> None:
    placed = phone.call(full_request_script(), caller_id=CALLER)
    phone.wait_hangup(placed, timeout_s=150)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    assert call.language == Language.EN
    journey = steps(call)
    for expected in (
        "language",
        "main_menu",
        "national_id",
        "national_id_confirm",
        "request_started",
        "category",
        "official",
        "meeting_mode",
        "callback_number_confirm",
        "callback_number",
        "voice_message_recorded",
        "voice_message_menu",
        "request_filed",
    ):
        assert expected in journey, (expected, journey)
    assert (
        journey.index("national_id")
        < journey.index("request_started")
        < journey.index("request_filed")
    )
    # Typed digits never appear in the journey; times are recorded.
    national = next(e for e in call.journey if e["step"] == "national_id")
    assert national["input"] == "##########"
    assert all("t" in entry for entry in call.journey)
    assert VALID_ID not in str(call.journey) and CALLER not in str(call.journey)
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None
        assert request.is_partial is False
        assert request.status == RequestStatus.RECEIVED
        assert request.category == RequesterCategory.MAN
        assert request.target_official == "minister"
        assert request.meeting_mode == MeetingMode.VIDEO
        assert request.branch == "riyadh"
        assert request.callback_number == "+966501234567"
        assert request.language == Language.EN
        assert request.voice_message_path is not None
        stored = ivr.settings.var_dir / request.voice_message_path
        # Encrypted at rest: only the vault reads the recording back.
        assert stored.is_file() and stored.read_bytes()[:4] != b"RIFF"
        assert vault_for(ivr.runner.settings).read(stored)[:4] == b"RIFF"
        kinds = sorted(m.kind.value for m in session.scalars(select(OutboxMessage)))
        assert kinds == ["forward", "sms"]
        assert request.requester is not None
        assert request.requester.national_id_hash == pii.fingerprint(VALID_ID)


def test_hang_up_mid_request_keeps_a_partial_request(ivr: IVR, phone: Phone) -> None:
    # ID confirmed, category given, then the caller hangs up at the official question.
    placed = phone.call(f"{ENGLISH}/{NEW_REQUEST}/{VALID_ID}/w3/1/w2/2/w2/h", caller_id=CALLER)
    phone.wait_hangup(placed)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.HUNG_UP
    assert "category" in steps(call)
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None
        assert request.is_partial is True
        assert request.category == RequesterCategory.WOMAN
        assert request.target_official is None
        # A partial request owes no SMS and no forwarding: it is not shown as filed.
        assert session.scalars(select(OutboxMessage)).all() == []
        service = IntakeService(PiiProtector.from_master_key(ivr.settings.secret_key))
        assert service.open_requests_of(session, VALID_ID) == []


def test_hang_up_before_the_id_keeps_the_journey(ivr: IVR, phone: Phone) -> None:
    placed = phone.call(f"{ENGLISH}/{NEW_REQUEST}/h")
    phone.wait_hangup(placed)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.HUNG_UP
    assert call.request_id is None
    assert steps(call)[:2] == ["language", "main_menu"]


def test_three_wrong_ids_send_the_caller_to_an_agent(ivr: IVR, phone: Phone) -> None:
    bad = "1000000001"
    placed = phone.call(f"{ENGLISH}/{NEW_REQUEST}/{bad}/w4/{bad}/w4/{bad}/w40")
    phone.wait_hangup(placed, timeout_s=120)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    # No agent is logged in: the queue refused the caller, who was offered a callback.
    assert call.outcome == CallOutcome.NO_AGENT
    journey = steps(call)
    assert journey.count("national_id_invalid") == 3
    sent = journey.index("to_agent")
    assert journey[sent - 1 : sent + 2] == ["too_many_attempts", "to_agent", "queue_refused"]


def _file(ivr: IVR, national_id: str, status: RequestStatus) -> Request:
    service = IntakeService(PiiProtector.from_master_key(ivr.settings.secret_key))
    with ivr.database.sessions() as session:
        request = service.file_request(
            session, NewRequest(national_id=national_id, language=Language.EN, branch="riyadh")
        )
        request.status = status
        session.commit()
        session.refresh(request)
        session.expunge(request)
        return request


def test_duplicate_request_offers_to_add_the_message(ivr: IVR, phone: Phone) -> None:
    existing = _file(ivr, VALID_ID, RequestStatus.IN_REVIEW)
    # The reference (9 digits) is read before the options: answer 1 during the options.
    placed = phone.call(
        f"{ENGLISH}/{NEW_REQUEST}/{VALID_ID}/w3/1/w14/1/{message_wait('en')}/#/w2/3/w40",
        caller_id=CALLER,
    )
    phone.wait_hangup(placed, timeout_s=120)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert "duplicate_found" in steps(call) and "added_to_existing" in steps(call), call.journey
    assert call.request_id == existing.id
    with ivr.database.sessions() as session:
        assert session.scalar(select(Request).where(Request.id != existing.id)) is None
        attachment = session.scalars(select(Attachment)).one()
        assert attachment.request_id == existing.id
        assert (ivr.settings.var_dir / attachment.path).is_file()


@pytest.mark.parametrize(
    ("status", "prompt_step"),
    [(RequestStatus.IN_REVIEW, "in_review"), (RequestStatus.REJECTED, "rejected")],
)
def test_follow_up_tells_the_status_only_with_the_id_digits(
    ivr: IVR, phone: Phone, status: RequestStatus, prompt_step: str
) -> None:
    request = _file(ivr, OTHER_ID, status)
    wrong, right = "1111", OTHER_ID[-4:]
    placed = phone.call(
        f"{ENGLISH}/2/w2/{request.reference_number}/w3/{wrong}/w5/"
        f"{request.reference_number}/w3/{right}/w8/2/w30"
    )
    phone.wait_hangup(placed, timeout_s=120)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    journey = steps(call)
    assert journey.count("follow_up_no_match") == 1, call.journey
    told = [e for e in call.journey if e["step"] == "status_told"]
    assert [e["input"] for e in told] == [status.value]
    assert journey.index("follow_up_no_match") < journey.index("status_told")
    assert journey[journey.index("status_told") :].count("to_agent") == 1
    assert journey[journey.index("to_agent") + 1] == "queue_refused"  # no agent logged in


def test_out_of_hours_caller_books_a_callback(ivr: IVR, phone: Phone) -> None:
    today = datetime.now(UTC).astimezone().date().isoformat()
    ivr.runner.settings = dataclasses.replace(ivr.runner.settings, holidays=(today,))
    # Notice, language, "agents are back on <day at time>", then 3 for a callback, confirmed.
    placed = phone.call(f"{ENGLISH}/w8/3/w3/1/w30", caller_id=CALLER)
    phone.wait_hangup(placed, timeout_s=90)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert "out_of_hours" in steps(call) and "callback_booked" in steps(call), call.journey
    with ivr.database.sessions() as session:
        callback = session.scalars(select(Callback)).one()
        assert callback.number == "+966501234567"
        assert callback.due_at > datetime.now(UTC) + timedelta(hours=1)


def test_settings_used_by_tests_are_open(ivr: IVR) -> None:
    settings: Settings = ivr.settings
    assert settings.asterisk_root and Path(settings.asterisk_root).is_dir()
