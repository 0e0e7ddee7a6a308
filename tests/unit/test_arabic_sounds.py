"""Every sound Asterisk can play to an Arabic caller of the dialplan exists in Arabic.

Asterisk falls back to ``en/`` for a sound missing in the channel's language: an Arabic caller
whose hold time rounds to one minute heard the English "minute" (app_queue's singular
``queue-minute``). The inventory reads the dialplan and queues.conf; these tests compare it with
the catalogue and with the built ``audio/build/ar``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ivr.prompts import AUDIO_DIR, load_catalogue
from ivr.sound_inventory import (
    CALLER_QUEUE_SOUNDS,
    Reach,
    add_dialplan,
    add_queue,
    arabic_order_problem,
    missing_sounds,
    reachable,
    read_queues,
    say_number_files,
)
from tawasul.config import Settings

BUILT_AR = AUDIO_DIR / "build" / "ar"


def _catalogue_ar_sounds() -> set[str]:
    names = set()
    for prompt in load_catalogue():
        if prompt.language == "ar":
            path = prompt.relative_path
            names.add(path.relative_to("ar").with_suffix("").as_posix())
    return names


def _reach() -> Reach:
    return reachable({prompt.key for prompt in load_catalogue(generated=False)})


def test_the_inventory_finds_what_the_dialplan_and_the_queues_play() -> None:
    reach = _reach()
    for sound in (
        "tawasul/technical_problem",  # Playback in the dialplan
        "tawasul/agents_unavailable",
        "tawasul/queue_callback_offer",  # the queues' periodic-announce
        "queue-thereare",
        "queue-callswaiting",
        "queue-youarenext",
        "queue-holdtime",
        "queue-minute",  # hold time of one minute
        "queue-minutes",
        "queue-thankyou",
        "beep",  # RECORD FILE ... BEEP
        "digits/10",  # position 10 (announce-position-limit)
        "tawasul/record_message",  # a literal sound("...") in an AGI script
    ):
        assert sound in reach.sounds, sound


def test_every_reachable_sound_is_in_the_arabic_catalogue() -> None:
    missing = missing_from(_catalogue_ar_sounds(), _reach())
    assert missing == {}


def test_every_app_queue_announcement_is_in_the_arabic_catalogue_whatever_the_options() -> None:
    assert set(CALLER_QUEUE_SOUNDS) - _catalogue_ar_sounds() == set()


def test_the_built_arabic_sounds_hold_every_reachable_sound() -> None:
    if not (BUILT_AR / "tawasul").is_dir():
        pytest.fail("audio/build/ar is not built: run `tawasul prompts build` (make prompts)")
    assert missing_sounds(_reach(), BUILT_AR) == {}


def test_every_number_app_queue_says_is_in_arabic_word_order() -> None:
    problems = [arabic_order_problem(n) for n in _reach().numbers]
    assert [problem for problem in problems if problem] == []


def missing_from(names: set[str], reach: Reach) -> dict[str, set[str]]:
    """The reachable sounds not in ``names``."""
    return {name: why for name, why in reach.sounds.items() if name not in names}


def test_a_missing_arabic_file_is_reported_with_where_it_is_played(tmp_path: Path) -> None:
    sounds = tmp_path / "ar"
    (sounds / "digits").mkdir(parents=True)
    for digit in range(10):
        (sounds / "digits" / f"{digit}.wav").write_bytes(b"")
    (sounds / "queue-minutes.gsm").write_bytes(b"")  # any format Asterisk can play counts
    reach = Reach()
    reach.add_digits("SayDigits")
    reach.add("queue-minutes", "queue q")
    reach.add("queue-minute", "queue q")
    assert missing_sounds(reach, sounds) == {"queue-minute": {"queue q"}}


def test_queue_options_decide_the_announcements(tmp_path: Path) -> None:
    conf = tmp_path / "queues.conf"
    conf.write_text(
        "[general]\npersistentmembers = no\n"
        "[base](!)\nannounce-frequency = 30\nannounce-holdtime = yes\n"
        "announce-position = more\nannounce-position-limit = 5\n"
        "queue-thankyou = custom/thanks\nreportholdtime = yes\n"
        "[one](base)\nannounce-round-seconds = 10\n"
        "[quiet]\nannounce-frequency = 0\nperiodic-announce-frequency = 20\n",
        encoding="utf-8",
    )
    queues = {queue.name: queue for queue in read_queues(conf)}
    assert set(queues) == {"one", "quiet"}
    loud = Reach()
    add_queue(loud, queues["one"], max_wait_s=600)
    for sound in ("queue-quantity1", "queue-quantity2", "queue-seconds", "custom/thanks"):
        assert sound in loud.sounds
    assert "queue-reporthold" in loud.sounds
    assert "queue-thankyou" not in loud.sounds
    assert 10 in loud.numbers  # (600 + 30) // 60 minutes
    quiet = Reach()
    add_queue(quiet, queues["quiet"], max_wait_s=300)
    assert set(quiet.sounds) == {"queue-periodic-announce"}


def test_dialplan_applications(tmp_path: Path) -> None:
    (tmp_path / "extensions.conf").write_text(
        "[globals]\nX=1\n[ctx]\n"
        "exten => s,1,Playback(a/one&a/two,noanswer)\n"
        " same => n,Record(/tmp/x.wav,3,10)\n"
        " same => n,Read(DIGITS,a/enter,4) ; comment Playback(not/this)\n"
        " same => n,Queue(q,r,,a/override,300)\n"
        " same => n,Playback(/var/spool/recording)\n"
        "\n"
        " same => n,ExecIf($[${X} = 1]?Playback(a/nested))\n",
        encoding="utf-8",
    )
    reach = Reach()
    add_dialplan(reach, tmp_path)
    assert set(reach.sounds) == {"a/one", "a/two", "beep", "a/enter", "a/override", "a/nested"}
    assert reach.sounds["a/nested"] == {"extensions.conf:10"}


@pytest.mark.parametrize(
    ("n", "files"),
    [
        (0, ["digits/0"]),
        (7, ["digits/7"]),
        (20, ["digits/20"]),
        (21, ["digits/20", "digits/1"]),
        (305, ["digits/3", "digits/hundred", "digits/5"]),
    ],
)
def test_say_number_uses_the_english_rules_for_arabic(n: int, files: list[str]) -> None:
    assert say_number_files(n) == files


def test_numbers_arabic_cannot_take_in_english_order_are_flagged() -> None:
    assert arabic_order_problem(10) is None
    assert arabic_order_problem(30) is None
    assert arabic_order_problem(21) is not None
    assert arabic_order_problem(100) is not None


def test_a_configured_branch_without_its_prompt_is_reported() -> None:
    settings = dataclasses.replace(Settings(), branches=("riyadh", "dammam"))
    reach = reachable({prompt.key for prompt in load_catalogue(generated=False)}, settings=settings)
    missing = missing_from(_catalogue_ar_sounds(), reach)
    assert set(missing) == {"tawasul/branch.dammam"}


def test_the_listing_names_each_sound_and_fails_on_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ivr.sound_inventory import main

    assert main([str(tmp_path)]) == 1
    listing = capsys.readouterr().out
    assert "MISSING  queue-minute" in listing
    assert "queue tawasul-riyadh" in listing
