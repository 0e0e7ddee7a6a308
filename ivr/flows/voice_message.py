"""A caller's voice message: record, 1 listen / 2 re-record / 3 save, kept encrypted.

Asterisk records into its spool, where the message is in clear; it stays there only while the
caller is at this step. Whatever ends the step (saved, three re-records, a hang-up during the
recording or the menu, an error), the spooled WAV is removed; a message the caller did not get
to save (if it has audio) is still kept, encrypted, when it belongs to a new request (the
partial request keeps it, as it keeps every other answer), and otherwise removed with the rest.
A server killed during the step does none of this: the next one does it, once the call is over
(``tawasul.spooled_recordings``). A take without audio (# pressed at once) is never kept.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ivr.flows.menu import Menu
from ivr.paths import SPOOL, host_path
from tawasul.errors import ConfigError
from tawasul.models import Request
from tawasul.spooled_recordings import has_audio, keep_encrypted, spooled_name
from tawasul.vault import Vault, vault_for

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
"""Samples a second of Asterisk's ``wav`` format (what ``endpos`` counts)."""


def record_voice_message(menu: Menu, name: str, partial: Request | None = None) -> str | None:
    """Record a message; return where it is kept (relative to the var directory), or None.

    Args:
        menu: the call's menu.
        name: what the message is for ("request", "added", "follow-up"), in its file name.
        partial: the partial request being filed, which keeps a message the caller could not
            save (a hang-up); None when the message would be added to something else.

    Returns:
        The encrypted message's path, or None when nothing was saved (no storage key, nothing
        recorded, three re-records). A take without audio (``tawasul.spooled_recordings.
        has_audio``: # pressed at once) is never kept: the caller hears "we did not hear a
        message" and records again.
    """
    settings = menu.ctx.settings
    try:
        vault = vault_for(settings)
    except ConfigError:
        # Fail closed: without a key to encrypt it, nothing is recorded at all.
        log.error("no storage key: voice message of %s refused", menu.call.uniqueid)
        menu.step("voice_message_refused")
        menu.play("message_not_kept")
        return None
    spooled = SPOOL / spooled_name(menu.call.id, name)
    recorded = host_path(settings, f"{spooled}.wav")
    take = 0
    try:
        for take in range(1, settings.input_attempts + 1):
            menu.play("record_message")
            result = menu.channel.record_file(
                str(spooled), "wav", "#", settings.voice_message_max_s * 1000
            )
            menu.step("voice_message_recorded", f"{result.end_position / SAMPLE_RATE:.1f}s")
            if not has_audio(recorded):
                # # pressed at once (or no frame reached us): nothing to keep, ask again.
                menu.step("voice_message_empty")
                menu.play("message_empty")
                continue
            while True:
                choice = menu.choose("message_menu", "123", "voice_message_menu")
                if choice == "1":
                    menu.channel.stream_file(str(spooled))
                    continue
                break
            if choice == "2":
                continue
            stored = _encrypt(vault, recorded, menu, name, take)
            menu.play("message_saved")
            return stored
        return None
    except BaseException:
        if partial is not None and take and has_audio(recorded):
            _keep_unsaved(menu, vault, recorded, name, take, partial)
        raise
    finally:
        try:
            recorded.unlink(missing_ok=True)
        except OSError as exc:
            log.error("could not remove the spooled recording of %s: %s", menu.call.uniqueid, exc)


def _encrypt(vault: Vault, recorded: Path, menu: Menu, name: str, take: int) -> str:
    return keep_encrypted(vault, recorded, menu.call.id, name, str(take))  # encrypted at rest


def _keep_unsaved(
    menu: Menu, vault: Vault, recorded: Path, name: str, take: int, partial: Request
) -> None:
    """The call ended before the caller saved: the partial request keeps the message."""
    try:
        stored = _encrypt(vault, recorded, menu, name, take)
        menu.ctx.intake.fill_in(menu.ctx.session, partial, voice_message_path=stored)
        log.info("call %s ended during its voice message: kept, encrypted", menu.call.uniqueid)
    except Exception:
        log.exception("could not keep the unsaved voice message of %s", menu.call.uniqueid)
