"""A caller's recordings in Asterisk's spool: encrypted and kept, or deleted, once the call ends.

Asterisk records a voice message into its spool, in clear, as ``call-<call id>-<name>.wav``.
The phone menu removes it when the step ends (encrypting it first when the caller saved it, or
when a hang-up cut a new request's message). A FastAGI server that dies mid-recording does
neither: the file would stay in clear for ever. Once such a call is over (its server gone, its
end recorded), the FastAGI server that can see the spool settles its recordings exactly as a
hang-up would: a new request's message is encrypted and kept by the partial request, anything
else is deleted. A process that cannot see the spool (a worker on another machine) leaves them
to the next FastAGI server.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from tawasul.models import Call, Request, utcnow
from tawasul.vault import Vault

log = logging.getLogger(__name__)

NEW_REQUEST = "request"
"""The name of a new request's message: the one its partial request keeps after a hang-up."""
WAV_HEADER = 44
"""Bytes of the canonical RIFF/WAVE header Asterisk writes in front of the samples."""
MIN_AUDIO_SAMPLES = 160
"""A recording with fewer samples than one 20 ms frame at 8 kHz has no audio: the caller pressed
# at once, or the call ended before a frame arrived. It is not a voice message."""
_SPOOLED = re.compile(r"call-(?P<call>\d+)-(?P<rest>.+)")
_KEPT = f"{NEW_REQUEST}.wav"


def spooled_name(call_id: int, name: str) -> str:
    """The spool file name (without extension) of a call's recording for ``name``."""
    return f"call-{call_id}-{name}"


def keep_encrypted(vault: Vault, recorded: Path, call_id: int, name: str, label: str) -> str:
    """Store a spooled recording encrypted under ``voice/``; return its var-relative path.

    Args:
        vault: where recordings are kept, encrypted at rest.
        recorded: the WAV in the spool (left there: the caller removes it).
        call_id: the call it was recorded on.
        name: what it is for ("request", "added", "follow-up").
        label: what tells it from the call's other takes (the take number, or "spooled").

    Returns:
        The stored file's path, relative to the var directory.

    Raises:
        OSError: when the recording cannot be read or the vault cannot be written.
    """
    relative = PurePosixPath("voice") / f"call-{call_id}-{name}-{label}.wav"
    vault.write(str(relative), finished_wav(recorded.read_bytes()))
    return str(relative)


def audio_samples(data: bytes) -> int:
    """How many 16-bit samples a WAV's ``data`` chunk holds, counted from the file's length
    (the header's own sizes are zero while Asterisk writes it); the bytes / 2 when it is not a
    RIFF/WAVE file."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        position = 12
        while position + 8 <= len(data):
            chunk = data[position : position + 4]
            if chunk == b"data":
                return max(len(data) - position - 8, 0) // 2
            size = struct.unpack("<I", data[position + 4 : position + 8])[0]
            position += 8 + size + (size & 1)
        return 0
    return len(data) // 2


def has_audio(path: Path) -> bool:
    """Whether a spooled recording holds at least one frame of audio (a missing file: no)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    return audio_samples(data) >= MIN_AUDIO_SAMPLES


def finished_wav(data: bytes) -> bytes:
    """``data`` with the RIFF and data sizes of a canonical WAV header set from its length.

    A caller's hang-up reaches the script before Asterisk closes the file, and Asterisk writes
    the sizes only when it closes: read before that, the sizes say zero and players show an
    empty message. Anything but a canonical 44-byte header is returned as it is.
    """
    if len(data) < WAV_HEADER or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data
    if data[36:40] != b"data":
        return data
    sizes = struct.pack("<I", len(data) - 8), struct.pack("<I", len(data) - WAV_HEADER)
    return data[:4] + sizes[0] + data[8:40] + sizes[1] + data[WAV_HEADER:]


def settle_spooled_recordings(
    session: Session,
    spool: Path,
    vault: Vault | None,
    clock: Callable[[], datetime] = utcnow,
) -> list[Path]:
    """Encrypt or delete the spooled recordings of every call that has ended.

    A ``call-<id>-*`` file whose call has ended (or is no longer in the database) is handled as
    a hang-up: a new request's message (``call-<id>-request.wav``) is encrypted and attached to
    the call's partial request when that request has no message yet; every other one is
    deleted. A call still open may be recording: its files are left alone. Other files (faxes)
    are not ours to settle. A recording without audio (:func:`has_audio`) is never kept.

    Args:
        session: a session with no transaction in progress; each file's change is committed
            before the file is removed (a crash in between leaves a file the next pass
            deletes, never a message lost).
        spool: the spool directory as this process sees it.
        vault: where kept messages are encrypted; None when there is no storage key (then
            nothing can be kept, and everything is deleted: fail closed).
        clock: the current time (the partial request's ``updated_at``).

    Returns:
        The spooled files removed.
    """
    removed: list[Path] = []
    if not spool.is_dir():
        return removed
    for path in sorted(spool.iterdir()):
        match = _SPOOLED.fullmatch(path.name)
        if match is None or not path.is_file():
            continue
        call = session.get(Call, int(match["call"]))
        if call is not None and call.ended_at is None:
            session.rollback()  # no transaction (SQLite's is a write lock) left open
            continue
        try:
            if call is not None and vault is not None and match["rest"] == _KEPT:
                _attach_to_partial(session, call, path, vault, clock)
            session.rollback()
            path.unlink(missing_ok=True)
        except Exception:
            session.rollback()
            log.exception("could not settle the spooled recording %s", path.name)
            continue
        removed.append(path)
    if removed:
        log.warning(
            "settled %d recordings left in the spool by ended calls: %s",
            len(removed),
            ", ".join(path.name for path in removed),
        )
    return removed


def _attach_to_partial(
    session: Session, call: Call, path: Path, vault: Vault, clock: Callable[[], datetime]
) -> None:
    request = session.get(Request, call.request_id) if call.request_id is not None else None
    if request is None or not request.is_partial or request.voice_message_path is not None:
        return
    if not has_audio(path):
        log.info("call %s ended before its voice message had audio: none kept", call.uniqueid)
        return
    request.voice_message_path = keep_encrypted(vault, path, call.id, NEW_REQUEST, "spooled")
    request.updated_at = clock()
    session.commit()
    log.info("call %s ended during its voice message: kept, encrypted", call.uniqueid)
