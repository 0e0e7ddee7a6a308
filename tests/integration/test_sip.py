"""A real SIP call over chan_pjsip on loopback, RFC 4733 DTMF, through the whole phone menu."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.simulator import new_request_script
from tawasul.models import Call, CallOutcome, Channel, Request
from tawasul_cli.asterisk import Harness
from tests.integration.sip_phone import BaresipPhone
from tests.integration.support import IVR, TEST_PORT_BASE, TEST_SIP_PORT, wait_until

pytestmark = pytest.mark.asterisk


@pytest.fixture
def sip_phone(asterisk: Harness, tmp_path: Path) -> Iterator[BaresipPhone]:
    if shutil.which("baresip") is None:
        pytest.fail("baresip is not installed (scripts/setup-system.sh installs baresip-core)")
    phone = BaresipPhone(tmp_path / "baresip", TEST_PORT_BASE + 62, TEST_PORT_BASE + 67)
    phone.start(TEST_SIP_PORT, asterisk.sip_secret())
    yield phone
    phone.stop()


def _latest_call(ivr: IVR) -> Call | None:
    with ivr.database.sessions() as session:
        return session.scalars(select(Call).order_by(Call.id.desc()).limit(1)).first()


def test_a_sip_caller_files_a_request_with_rfc4733_digits(
    ivr: IVR, sip_phone: BaresipPhone
) -> None:
    sip_phone.command("dial", f"sip:100@127.0.0.1:{TEST_SIP_PORT}")
    wait_until(lambda: _latest_call(ivr) is not None, 20, "the SIP call to reach the IVR")
    script = new_request_script("1000000008").removesuffix("/w60")
    sip_phone.play(script + "/w15/h")
    wait_until(
        lambda: (c := _latest_call(ivr)) is not None and c.ended_at is not None,
        60,
        "the SIP call to end",
    )
    call = _latest_call(ivr)
    assert call is not None
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    assert call.caller_id == "0501234567"  # the endpoint's caller ID
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None and request.channel == Channel.PHONE
        assert request.callback_number == "+966501234567"
        assert not request.is_partial and request.voice_message_path
