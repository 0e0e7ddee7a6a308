"""Recordings ended calls left in Asterisk's spool, settled against a real database (the spool a
directory of the test's): a new request's message kept encrypted, everything else deleted."""

from __future__ import annotations

import dataclasses
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.paths import SPOOL
from tawasul.config import Settings
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Call, Language, Request
from tawasul.pii import PiiProtector
from tawasul.spooled_recordings import settle_spooled_recordings
from tawasul.vault import MAGIC, Vault, vault_for
from tawasul_cli.commands import close_orphaned_calls
from tests.helpers import Database, unfinished_wav

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
NATIONAL_ID = "1000000008"
SAMPLES = b"\x7f\x80" * 800


def wav_being_recorded() -> bytes:
    """A WAV as Asterisk leaves it when its writer dies: the header's sizes still zero."""
    return unfinished_wav(SAMPLES)


def open_call(database: Database, pii: PiiProtector, uniqueid: str, partial: bool) -> int:
    """A call (with a partial request when ``partial``); returns its id."""
    intake = IntakeService(pii, clock=lambda: NOW - timedelta(minutes=3))
    with database.sessions() as session:
        call = intake.open_call(session, uniqueid, "0501234567")
        if partial:
            new = NewRequest(national_id=NATIONAL_ID, language=Language.EN, branch="riyadh")
            intake.start_partial_request(session, new, call)
        return call.id


def end_call(database: Database, call_id: int) -> None:
    with database.sessions() as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.ended_at = NOW - timedelta(minutes=1)
        session.commit()


def request_of(database: Database, call_id: int) -> Request:
    with database.sessions() as session:
        call = session.get(Call, call_id)
        assert call is not None and call.request_id is not None
        request = session.get(Request, call.request_id)
        assert request is not None
        session.expunge(request)
        return request


def spool_with(spool: Path, *names: str) -> None:
    spool.mkdir(parents=True, exist_ok=True)
    for name in names:
        (spool / name).write_bytes(wav_being_recorded())


@pytest.fixture
def vault(settings: Settings) -> Vault:
    return vault_for(settings)


def test_an_ended_new_requests_message_is_kept_encrypted_by_its_partial_request(
    database: Database, pii: PiiProtector, settings: Settings, vault: Vault, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    call_id = open_call(database, pii, "dead.1", partial=True)
    end_call(database, call_id)
    spool_with(spool, f"call-{call_id}-request.wav")
    with database.sessions() as session:
        removed = settle_spooled_recordings(session, spool, vault, clock=lambda: NOW)
    assert removed == [spool / f"call-{call_id}-request.wav"]
    assert list(spool.iterdir()) == []
    request = request_of(database, call_id)
    assert request.is_partial and request.voice_message_path is not None
    assert request.updated_at == NOW
    stored = settings.var_dir / request.voice_message_path
    blob = stored.read_bytes()
    assert blob.startswith(MAGIC) and SAMPLES[:64] not in blob
    kept = vault.read(stored)
    # The sizes Asterisk had not written yet are set, so a player shows the whole message.
    assert struct.unpack("<I", kept[40:44])[0] == len(SAMPLES)
    assert kept[44:] == SAMPLES


def test_every_other_recording_of_an_ended_call_is_deleted_and_open_calls_are_left(
    database: Database, pii: PiiProtector, settings: Settings, vault: Vault, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    ended = open_call(database, pii, "ended.1", partial=True)
    end_call(database, ended)
    recording = open_call(database, pii, "live.1", partial=True)  # still being served
    spool_with(
        spool,
        f"call-{ended}-added.wav",
        f"call-{ended}-follow-up.wav",
        f"call-{ended}-request.gsm",  # not the WAV a new request's message is
        f"call-{recording}-request.wav",
        "call-99999-request.wav",  # its call is gone from the database
        "fax-1700000000.1.tif",  # not a caller's recording: not ours to settle
    )
    with database.sessions() as session:
        removed = settle_spooled_recordings(session, spool, vault)
    assert sorted(path.name for path in removed) == sorted(
        [
            f"call-{ended}-added.wav",
            f"call-{ended}-follow-up.wav",
            f"call-{ended}-request.gsm",
            "call-99999-request.wav",
        ]
    )
    assert sorted(path.name for path in spool.iterdir()) == sorted(
        ["fax-1700000000.1.tif", f"call-{recording}-request.wav"]
    )
    assert request_of(database, ended).voice_message_path is None
    assert request_of(database, recording).voice_message_path is None
    voice = settings.files_dir() / "voice"
    assert not voice.exists() or list(voice.iterdir()) == []


def test_a_request_that_has_its_message_or_is_complete_keeps_what_it_has(
    database: Database, pii: PiiProtector, vault: Vault, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    with_message = open_call(database, pii, "kept.1", partial=True)
    completed = open_call(database, pii, "filed.1", partial=True)
    with database.sessions() as session:
        for call_id, fields in (
            (with_message, {"voice_message_path": "voice/call-1-request-1.wav"}),
            (completed, {"is_partial": False}),
        ):
            call = session.get(Call, call_id)
            assert call is not None
            request = session.get(Request, call.request_id)
            for name, value in fields.items():
                setattr(request, name, value)
            session.commit()
    for call_id in (with_message, completed):
        end_call(database, call_id)
    spool_with(spool, f"call-{with_message}-request.wav", f"call-{completed}-request.wav")
    with database.sessions() as session:
        assert len(settle_spooled_recordings(session, spool, vault)) == 2
    assert list(spool.iterdir()) == []
    assert request_of(database, with_message).voice_message_path == "voice/call-1-request-1.wav"
    assert request_of(database, completed).voice_message_path is None


def test_without_a_storage_key_nothing_is_kept_and_nothing_stays_in_clear(
    database: Database, pii: PiiProtector, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    call_id = open_call(database, pii, "nokey.1", partial=True)
    end_call(database, call_id)
    spool_with(spool, f"call-{call_id}-request.wav")
    with database.sessions() as session:
        settle_spooled_recordings(session, spool, None)
    assert list(spool.iterdir()) == []
    assert request_of(database, call_id).voice_message_path is None


def test_the_agi_server_start_up_settles_the_spool_even_without_ami(
    database: Database, pii: PiiProtector, settings: Settings, tmp_path: Path
) -> None:
    # No AMI secret: the dead server's calls cannot be closed here, but the calls that had
    # already ended (before this code existed, or closed by a worker) are settled.
    root = tmp_path / "asterisk-root"
    settings = dataclasses.replace(
        settings, database_url=database.url, asterisk_root=str(root), ami_secret=""
    )
    spool = root / SPOOL.relative_to("/")
    call_id = open_call(database, pii, "before.1", partial=True)
    end_call(database, call_id)
    spool_with(spool, f"call-{call_id}-request.wav", f"call-{call_id}-added.wav")
    assert close_orphaned_calls(settings) == 0
    assert list(spool.iterdir()) == []
    path = request_of(database, call_id).voice_message_path
    assert path is not None
    assert vault_for(settings).read(settings.var_dir / path)[44:] == SAMPLES


def test_an_ended_new_requests_recording_without_audio_is_deleted_not_kept(
    database: Database, pii: PiiProtector, settings: Settings, vault: Vault, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    call_id = open_call(database, pii, "dead.2", partial=True)
    end_call(database, call_id)
    spool.mkdir(parents=True)
    (spool / f"call-{call_id}-request.wav").write_bytes(unfinished_wav(b""))  # header only
    with database.sessions() as session:
        removed = settle_spooled_recordings(session, spool, vault, clock=lambda: NOW)
    assert removed == [spool / f"call-{call_id}-request.wav"]
    assert request_of(database, call_id).voice_message_path is None
    voice = settings.files_dir() / "voice"
    assert not voice.exists() or list(voice.iterdir()) == []
