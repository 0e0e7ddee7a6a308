"""Through real Asterisk: a caller who presses # as soon as the beep has gone leaves no voice
message (they are asked again), and a scripted caller's spoken message is kept and audible."""

from __future__ import annotations

import struct
import wave

import pytest

from ivr.prompts import AUDIO_DIR
from ivr.simulator import empty_message_wait, message_wait, new_request_script
from tawasul.models import CallOutcome, Request
from tawasul.spooled_recordings import audio_samples
from tawasul.vault import vault_for
from tests.integration.support import IVR, Phone, finished_call

pytestmark = pytest.mark.asterisk

VALID_ID = "1000000008"
CALLER = "0501234567"


def _seconds(key: str) -> float:
    with wave.open(str(AUDIO_DIR / "build" / "en" / "tawasul" / f"{key}.wav")) as sound:
        return sound.getnframes() / sound.getframerate()


def _up_to_the_message() -> str:
    return new_request_script(VALID_ID).split(f"/{message_wait('en')}/", 1)[0]


def _empty_take() -> str:
    """# as soon as the beep has gone, then out "We did not hear a message"."""
    return f"{empty_message_wait('en')}/#/w{_seconds('message_empty') + 0.5:.1f}"


def test_a_message_without_audio_is_asked_again_and_the_spoken_one_kept(
    ivr: IVR, phone: Phone
) -> None:
    script = f"{_up_to_the_message()}/{_empty_take()}/{message_wait('en')}/#/w2/3/w40"
    placed = phone.call(script, caller_id=CALLER)
    phone.wait_hangup(placed, timeout_s=180)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    journey = [entry["step"] for entry in call.journey]
    assert journey.count("voice_message_recorded") == 2, journey
    assert journey.count("voice_message_empty") == 1, journey
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None and request.voice_message_path is not None
        assert request.voice_message_path.endswith("-2.wav")  # the spoken take
        stored = ivr.settings.var_dir / request.voice_message_path
    message = vault_for(ivr.runner.settings).read(stored)
    # The caller's synthesised speech reached the recording: over a second of it, not silence.
    assert audio_samples(message) > 8000
    samples = struct.unpack(
        f"<{(len(message) - 44) // 2}h", message[44 : 44 + (len(message) - 44) // 2 * 2]
    )
    assert max(abs(sample) for sample in samples) > 1000


def test_three_takes_without_audio_file_the_request_without_a_message(
    ivr: IVR, phone: Phone
) -> None:
    takes = "/".join([_empty_take()] * 3)
    placed = phone.call(f"{_up_to_the_message()}/{takes}/w40", caller_id=CALLER)
    phone.wait_hangup(placed, timeout_s=180)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    journey = [entry["step"] for entry in call.journey]
    assert journey.count("voice_message_empty") == 3, journey
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None and not request.is_partial
        assert request.voice_message_path is None
    voice = ivr.settings.var_dir / "voice"
    assert not voice.exists() or list(voice.iterdir()) == []
