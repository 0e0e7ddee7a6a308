"""The real Asterisk has in Arabic every sound the dialplan and app_queue can play to a caller.

The unit test (tests/unit/test_arabic_sounds.py) compares the inventory with the built files;
this one asks Asterisk's own media index, after ``tawasul asterisk up`` installed the prompts.
"""

from __future__ import annotations

import re

import pytest

from ivr.prompts import load_catalogue
from ivr.sound_inventory import reachable
from tawasul_cli.asterisk import Harness

pytestmark = pytest.mark.asterisk


def _languages(asterisk: Harness, sound: str) -> set[str]:
    """The languages Asterisk's media index has ``sound`` in (``core show sound``)."""
    listing = asterisk.cli(f"core show sound {sound}")
    return set(re.findall(r"^\s*Language (\S+):", listing, re.MULTILINE))


def test_asterisk_has_every_reachable_sound_in_arabic(asterisk: Harness) -> None:
    reach = reachable({prompt.key for prompt in load_catalogue(generated=False)})
    assert "queue-minute" in reach.sounds
    missing = sorted(name for name in reach.sounds if "ar" not in _languages(asterisk, name))
    assert missing == []
    # The check itself: a sound Asterisk has only in English is reported.
    assert _languages(asterisk, "vm-intro") == {"en", "en_US", "en_US_f_Allison"}
