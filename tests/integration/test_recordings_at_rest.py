"""Voice messages through a real call are encrypted at rest, and refused without a key."""

from __future__ import annotations

import dataclasses

import pytest

from tawasul.models import CallOutcome, Request
from tawasul.vault import MAGIC, vault_for
from tests.integration.support import IVR, Phone, finished_call
from tests.integration.test_phone_menu import CALLER, full_request_script

pytestmark = pytest.mark.asterisk


def test_a_voice_message_on_disk_is_not_a_playable_wav(ivr: IVR, phone: Phone) -> None:
    placed = phone.call(full_request_script(), caller_id=CALLER)
    phone.wait_hangup(placed, timeout_s=150)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None and request.voice_message_path
        stored = ivr.runner.settings.var_dir / request.voice_message_path
    blob = stored.read_bytes()
    assert blob.startswith(MAGIC) and b"RIFF" not in blob[:64] and b"WAVE" not in blob
    assert vault_for(ivr.runner.settings).read(stored).startswith(b"RIFF")


def test_without_a_storage_key_the_message_is_refused_and_the_request_kept(
    ivr: IVR, phone: Phone
) -> None:
    ivr.runner.settings = dataclasses.replace(ivr.runner.settings, storage_keys=("not-a-key",))
    placed = phone.call(full_request_script(), caller_id=CALLER)
    phone.wait_hangup(placed, timeout_s=150)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    steps = [entry["step"] for entry in call.journey]
    assert "voice_message_refused" in steps and "voice_message_recorded" not in steps
    assert call.outcome == CallOutcome.REQUEST_FILED
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None and request.voice_message_path is None
        assert not request.is_partial
    assert not list((ivr.runner.settings.var_dir / "voice").glob("*"))
