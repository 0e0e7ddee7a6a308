"""A voice message is kept only when it has audio: # pressed at once, or a WAV with a header and
no samples, is no message (the caller is asked again), also after a hang-up and in the spool."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tawasul.config import Settings
from tawasul.intake import IntakeService
from tawasul.models import CallOutcome, Request
from tawasul.pii import PiiProtector
from tawasul.spooled_recordings import audio_samples, has_audio
from tests.helpers import Database, unfinished_wav
from tests.unit.fake_asterisk import FakeAsterisk, wav
from tests.unit.test_phone_flows import NEW_REQUEST, open_settings, run_call, steps

__all__ = ["open_settings"]  # the fixture, used by name


@pytest.mark.parametrize(
    ("data", "samples"),
    [
        (unfinished_wav(b""), 0),
        (wav(0), 0),
        (wav(0.01), 80),
        (wav(1), 8000),
        (b"\x01\x00" * 10, 10),
        (b"", 0),
    ],
)
def test_audio_is_counted_from_the_files_length(data: bytes, samples: int) -> None:
    assert audio_samples(data) == samples


def test_a_header_only_or_missing_recording_has_no_audio(tmp_path: Path) -> None:
    empty, short, spoken = tmp_path / "empty.wav", tmp_path / "short.wav", tmp_path / "ok.wav"
    empty.write_bytes(unfinished_wav(b""))
    short.write_bytes(wav(0.01))  # less than one 20 ms frame
    spoken.write_bytes(wav(0.1))
    assert not has_audio(empty)
    assert not has_audio(short)
    assert not has_audio(tmp_path / "missing.wav")
    assert has_audio(spoken)


def test_a_message_without_audio_is_asked_again_and_the_spoken_one_kept(
    open_settings: Settings, database: Database, pii: PiiProtector
) -> None:
    channel = FakeAsterisk(open_settings, NEW_REQUEST, takes=[0, 2])
    call = run_call(channel, open_settings, database, IntakeService(pii))
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    journey = steps(call)
    assert journey.count("voice_message_recorded") == 2
    assert journey.count("voice_message_empty") == 1
    assert channel.played().count("message_empty") == 1
    with database.sessions() as session:
        request = session.scalars(select(Request)).one()
        assert request.voice_message_path is not None
        assert request.voice_message_path.endswith("-2.wav")  # the second take
    assert channel.spooled() == []


def test_three_takes_without_audio_file_the_request_without_a_message(
    open_settings: Settings, database: Database, pii: PiiProtector
) -> None:
    channel = FakeAsterisk(open_settings, NEW_REQUEST, takes=[0, 0, 0])
    call = run_call(channel, open_settings, database, IntakeService(pii))
    assert call.outcome == CallOutcome.REQUEST_FILED, call.journey
    with database.sessions() as session:
        request = session.scalars(select(Request)).one()
        assert request.voice_message_path is None
    assert not list((open_settings.var_dir / "voice").glob("*"))
    assert channel.spooled() == []


def test_a_hang_up_before_any_audio_keeps_no_message(
    open_settings: Settings, database: Database, pii: PiiProtector
) -> None:
    channel = FakeAsterisk(open_settings, NEW_REQUEST, hang_up_at="RECORD FILE", takes=[0])
    call = run_call(channel, open_settings, database, IntakeService(pii))
    assert call.outcome == CallOutcome.HUNG_UP
    with database.sessions() as session:
        request = session.scalars(select(Request)).one()
        assert request.is_partial and request.voice_message_path is None
    assert not list((open_settings.var_dir / "voice").glob("*"))
    assert channel.spooled() == []
