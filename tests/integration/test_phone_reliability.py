"""What callers meet beside other callers and at the edges, through the real Asterisk.

A caller waiting at a prompt holds up no other caller; a caller who hangs up during their
voice message leaves nothing in clear in Asterisk's spool; any caller ID Asterisk hands over
reaches the menu and is stored as it is. Each on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ivr.paths import SPOOL, host_path
from ivr.simulator import message_wait, new_request_script
from tawasul.models import CallOutcome, Request
from tawasul.vault import MAGIC, vault_for
from tawasul.workflow import RequestStatus
from tests.integration.support import IVR, Phone, finished_call
from tests.integration.test_phone_menu import (
    CALLER,
    ENGLISH,
    NEW_REQUEST,
    OTHER_ID,
    VALID_ID,
    _file,
)

pytestmark = pytest.mark.asterisk

TO_THE_DUPLICATE_PROMPT_S = 14
"""From the answer to caller A hearing "1 add a message / 2 new request" (notice, language,
menu, ID, read-back), with a margin for a loaded machine."""


def test_a_caller_at_the_duplicate_prompt_holds_up_no_other_caller(ivr: IVR, phone: Phone) -> None:
    _file(ivr, VALID_ID, RequestStatus.IN_REVIEW)
    # A confirms an ID that has an open request, then stays silent at the options (three
    # rounds of prompt and wait, about 40 s) until the menu sends them to an agent.
    waiting = phone.call(f"{ENGLISH}/{NEW_REQUEST}/{VALID_ID}/w3/1/w80", caller_id=CALLER)
    time.sleep(TO_THE_DUPLICATE_PROMPT_S)
    # B dials while A sits there, and files a request from start to end.
    filing = phone.call(new_request_script(OTHER_ID), caller_id="0555123456")
    phone.wait_hangup(filing, timeout_s=150)
    phone.wait_hangup(waiting, timeout_s=150)
    b = finished_call(ivr.database, filing.ivr_uniqueid)
    assert b.outcome == CallOutcome.REQUEST_FILED, b.journey
    # B heard the menu at once: the language was chosen during the recording notice.
    assert b.journey[0]["step"] == "language" and b.journey[0]["t"] < 10, b.journey
    a = finished_call(ivr.database, waiting.ivr_uniqueid)
    journey = [entry["step"] for entry in a.journey]
    assert "duplicate_found" in journey and "to_agent" in journey, a.journey


def _spooled(ivr: IVR) -> set[Path]:
    spool = host_path(ivr.settings, SPOOL)
    return {path for path in spool.iterdir() if path.is_file()} if spool.exists() else set()


def _up_to_the_message() -> str:
    """English, 1 new request, the ID, man, the minister, video, the caller ID confirmed."""
    return new_request_script(VALID_ID).split(f"/{message_wait('en')}/", 1)[0]


@pytest.mark.parametrize(
    "ending",
    [
        # Two seconds into the message.
        f"{message_wait('en', 2)}/h",
        # At "1 listen / 2 re-record / 3 save", after # ended the message.
        f"{message_wait('en')}/#/w2/h",
    ],
    ids=["while-recording", "at-listen-re-record-save"],
)
def test_a_caller_who_hangs_up_at_the_voice_message_leaves_nothing_in_clear(
    ivr: IVR, phone: Phone, ending: str
) -> None:
    before = _spooled(ivr)
    placed = phone.call(f"{_up_to_the_message()}/{ending}", caller_id=CALLER)
    phone.wait_hangup(placed, timeout_s=150)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.HUNG_UP, call.journey
    # Nothing of the call is left in Asterisk's spool, where Asterisk wrote it in clear.
    assert _spooled(ivr) - before == set()
    with ivr.database.sessions() as session:
        request = session.get(Request, call.request_id)
        assert request is not None and request.is_partial
        # The partial request keeps the message, encrypted, as it keeps every other answer.
        assert request.voice_message_path is not None, call.journey
        stored = ivr.settings.var_dir / request.voice_message_path
    assert stored.read_bytes().startswith(MAGIC)
    assert vault_for(ivr.runner.settings).read(stored).startswith(b"RIFF")


LONG_CALLER_ID = "sip_" + "0123456789" * 6 + "+*#;&'%`|~!^$@="
"""79 characters, as a SIP user part may be (Asterisk keeps up to 79), with odd characters
(none that Asterisk's caller ID parsing drops: spaces, parentheses, dashes, dots)."""


def test_a_79_character_caller_id_hears_the_menu_and_is_stored_as_given(
    ivr: IVR, phone: Phone
) -> None:
    assert len(LONG_CALLER_ID) == 79
    # In angle brackets, the whole text is the caller's number (not their name) to Asterisk.
    placed = phone.call(f"{ENGLISH}/w3/h", caller_id=f"<{LONG_CALLER_ID}>")
    phone.wait_hangup(placed)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    assert call.outcome == CallOutcome.HUNG_UP
    assert [e["step"] for e in call.journey][:1] == ["language"]
    assert call.caller_id == LONG_CALLER_ID
