"""The first flow, end to end: real calls through real Asterisk into FastAGI and the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.simulator import message_wait, new_request_script
from providers.ami import AMIClient
from tawasul.ids import is_valid_reference_number
from tawasul.intake import IntakeService
from tawasul.models import CallOutcome, Channel, Language, Request, Requester, RequestEvent
from tawasul.pii import PiiProtector
from tawasul.workflow import RequestStatus
from tests.integration.support import IVR, Phone, finished_call

pytestmark = pytest.mark.asterisk

VALID_ID = "1000000008"
OTHER_VALID_ID = "2000000006"
BAD_CHECK_DIGIT_ID = "1000000001"


def arabic_request(national_id: str) -> str:
    """The whole Arabic menu, every prompt heard out: 1 during the recording notice, 1 new
    request, the ID, 1 confirm (during the read-back), 1 man, 1 the minister, 2 video, 1 the
    caller ID, a message ended by #, 3 save."""
    message = message_wait("ar")
    return f"w1/1/w3/1/w3/{national_id}/w4/1/w4/1/w5/1/w5/2/w5/1/{message}/#/w3/3/w90"


def test_call_files_a_request_in_arabic(ivr: IVR, phone: Phone, pii: PiiProtector) -> None:
    placed = phone.call(arabic_request(VALID_ID), caller_id="0501234567")
    phone.wait_hangup(placed, timeout_s=180)
    call = finished_call(ivr.database, placed.ivr_uniqueid)

    assert call.outcome == CallOutcome.REQUEST_FILED
    assert call.caller_id == "0501234567"
    assert call.language == Language.AR
    steps = [entry["step"] for entry in call.journey]
    assert steps[:3] == ["language", "main_menu", "national_id"]
    assert steps[-1] == "request_filed"
    assert call.journey[2]["input"] == "##########"  # the ID is never in the journey
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None
        assert is_valid_reference_number(request.reference_number)
        assert request.status == RequestStatus.RECEIVED
        assert request.channel == Channel.PHONE
        assert request.branch == "riyadh"
        assert request.language == Language.AR
        requester = session.get(Requester, request.requester_id)
        assert requester is not None
        assert requester.national_id_hash == pii.fingerprint(VALID_ID)
        assert pii.decrypt(requester.national_id_encrypted, "national_id") == VALID_ID
        assert VALID_ID not in requester.national_id_encrypted
        events = session.scalars(select(RequestEvent)).all()
        assert [(e.kind, e.to_status, e.actor) for e in events] == [
            ("created", RequestStatus.RECEIVED, "ivr")
        ]
        assert events[0].details["call"] == placed.ivr_uniqueid


def test_english_caller(ivr: IVR, phone: Phone) -> None:
    placed = phone.call(new_request_script(OTHER_VALID_ID))
    phone.wait_hangup(placed, timeout_s=150)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.REQUEST_FILED
    assert call.language == Language.EN
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None and request.language == Language.EN


def test_bad_national_id_is_reprompted_then_accepted(ivr: IVR, phone: Phone) -> None:
    # The re-prompt ("not valid", ~3 s) plays before the caller types again.
    placed = phone.call(
        new_request_script(f"{BAD_CHECK_DIGIT_ID}/w4/{VALID_ID}"), caller_id="0501234567"
    )
    phone.wait_hangup(placed, timeout_s=150)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.REQUEST_FILED
    steps = [entry["step"] for entry in call.journey]
    assert steps[:4] == ["language", "main_menu", "national_id_invalid", "national_id"]
    assert steps[-1] == "request_filed"
    with ivr.database.sessions() as session:
        assert session.scalar(select(Request.id).where(Request.id == call.request_id))


def test_caller_hanging_up_mid_flow_is_recorded(ivr: IVR, phone: Phone) -> None:
    placed = phone.call("w1/1/w1/h")
    phone.wait_hangup(placed)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.HUNG_UP
    assert call.request_id is None
    assert [entry["step"] for entry in call.journey] == ["language"]
    with ivr.database.sessions() as session:
        assert session.scalars(select(Request)).all() == []


def test_fastagi_server_down_sends_caller_down_the_fail_path(
    ivr: IVR, phone: Phone, ami: AMIClient
) -> None:
    ivr.stop()
    placed = phone.call("w30")
    event = ami.wait_for_event(
        lambda e: (
            e.get("UserEvent") == "TawasulFailover" and e.get("Uniqueid") == placed.ivr_uniqueid
        ),
        timeout_s=20,
    )
    assert event is not None, "the dialplan did not take the failure path"
    assert event["AgiStatus"] == "FAILURE"
    phone.wait_hangup(placed)


class _BrokenIntake(IntakeService):
    def start_partial_request(self, *args: object, **kwargs: object) -> Request:
        raise RuntimeError("database unreachable")


def test_script_failure_sends_caller_down_the_fail_path(
    ivr: IVR, phone: Phone, ami: AMIClient, pii: PiiProtector
) -> None:
    ivr.runner.intake = _BrokenIntake(pii)
    placed = phone.call(f"w1/2/w2/1/w2/{VALID_ID}/w3/1/w30")
    event = ami.wait_for_event(
        lambda e: (
            e.get("UserEvent") == "TawasulFailover" and e.get("Uniqueid") == placed.ivr_uniqueid
        ),
        timeout_s=40,
    )
    assert event is not None, "the dialplan did not take the failure path"
    assert event["AgiStatus"] == "SUCCESS"
    assert event["ScriptStatus"] == "FAILED"
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.FAILED
