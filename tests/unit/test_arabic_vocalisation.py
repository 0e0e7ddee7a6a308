"""Every Arabic prompt is given to the speech engine vocalised, and espeak-ng reads it as Arabic.

espeak-ng mispronounces Arabic written without vowel marks ("المكوّن" -> ``?almk'u:n``); the
catalogue gives each Arabic text vocalised (``ar_speech``) and the numbers, dates and times of
``ivr.arabic`` are written so. These tests read espeak-ng's phonemes (``-x``) of every one.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from ivr.arabic import clock_time, day_of_month, generated_prompts, minutes
from ivr.prompts import CATALOGUE, PromptBuilder, load_catalogue
from ivr.vocalisation import (
    display_text,
    engine_text,
    espeak_available,
    phoneme_problems,
    phonemes,
    skeleton,
    word_problems,
)


@pytest.fixture(scope="module", autouse=True)
def _espeak() -> None:
    if not espeak_available():
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is not installed: CI must check the Arabic prompts")
        pytest.skip("espeak-ng is not installed (make setup installs it)")


def _arabic_speech() -> list[tuple[str, str]]:
    """(key, text the engine is given) of every Arabic prompt the build renders."""
    return [
        (prompt.key, text)
        for prompt in load_catalogue()
        if prompt.language == "ar"
        for language, text in prompt.parts
        if language == "ar"
    ]


def test_espeak_reads_every_arabic_prompt_without_a_cluster_arabic_lacks() -> None:
    speech = _arabic_speech()
    assert len(speech) > 300  # the catalogue and the generated numbers, dates and times
    problems = {key: found for key, text in speech if (found := phoneme_problems(text))}
    assert problems == {}


def _catalogue_entries() -> dict[str, dict[str, object]]:
    with CATALOGUE.open("rb") as handle:
        table = tomllib.load(handle)
    entries: dict[str, dict[str, object]] = {}

    def walk(node: dict[str, object], prefix: str) -> None:
        for name, value in node.items():
            if isinstance(value, dict):
                if "ar" in value or "en" in value:
                    entries[prefix + name] = value
                else:
                    walk(value, prefix + name + ".")

    walk(table, "")
    return entries


def test_every_arabic_text_has_its_vocalised_form_with_the_same_letters() -> None:
    arabic = {key: entry for key, entry in _catalogue_entries().items() if "ar" in entry}
    assert arabic
    for key, entry in arabic.items():
        assert "ar_speech" in entry, key
        assert skeleton(str(entry["ar_speech"])) == skeleton(str(entry["ar"])), key


def test_the_issues_examples() -> None:
    # Undiacritised, espeak-ng makes clusters Arabic has not...
    assert phoneme_problems("المكوّن")  # ?almk'u:n
    assert phoneme_problems("أرقام")  # ?Rq'a:m
    # ... vocalised, it does not.
    assert phoneme_problems("الْمُكَوَّنَ مِنْ عَشَرَةِ أَرْقَامٍ") == []
    # عشرة is ʕašara, not ʕišra: a vowel between its š and r.
    (ten,) = phonemes("عَشَرَةِ")
    names = [phoneme.lstrip("',") for phoneme in ten]
    assert names[names.index("S") + 1].startswith("a")


def test_the_check_names_each_kind_of_problem() -> None:
    assert word_problems(["s", "t", "'a", "m"]) == ["st'am: starts with two consonants"]
    assert len(word_problems(["?", "R", "q", "'a:", "m"])) == 2  # and three in a row
    assert word_problems(["?", "a", "l", "m", "k", "'u:", "n"]) == [
        "?almk'u:n: three consonants in a row"
    ]
    assert word_problems(["b", "t"]) == ["bt: no vowel (not vocalised)"]
    assert word_problems(["(en)", "h", "'a", "l"])[0].endswith("another language's rules")
    # A doubled consonant is one long consonant, not a cluster (?assala:m).
    assert word_problems(["?", "a", "s", "s", "s", "'a", "l", "a:", "m"]) == []


def test_a_shadda_goes_before_its_vowel_for_the_engine() -> None:
    # NFC order (fatha, shadda) makes espeak-ng drop the vowel: ?asssl'a:m.
    canonical = "الس\u064e\u0651لام"
    assert engine_text(canonical) == "الس\u0651\u064eلام"
    assert phoneme_problems(canonical) == []


@pytest.mark.parametrize(
    ("vocalised", "plain"),
    [
        ("شُكْرًا", "شكراً"),
        ("مَسَاءً", "مساءً"),
        ("حَالِيًّا", "حالياً"),
        ("دَقِيقَةً", "دقيقة"),
        ("الْمُكَوَّنَ", "المكون"),
    ],
)
def test_display_text_drops_the_marks_people_do_not_write(vocalised: str, plain: str) -> None:
    assert display_text(vocalised) == plain


def test_spoken_numbers_dates_and_times_pass_the_same_check() -> None:
    phrases = [clock_time(hour, minute, speech=True) for hour in range(24) for minute in (0, 7)]
    phrases += [day_of_month(day, 1 + day % 12, speech=True) for day in range(1, 32)]
    phrases += [minutes(n, speech=True) for n in range(1, 60)]
    problems = {text: found for text in phrases if (found := phoneme_problems(text))}
    assert problems == {}
    speech, shown = generated_prompts(speech=True), generated_prompts()
    assert speech.keys() == shown.keys()
    assert all(display_text(speech[key]) == shown[key] for key in speech)


class Recorder:
    """A speech engine that writes silence and keeps what it was asked to say."""

    name = "recorder"

    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    def render(self, language: str, text: str, out: Path) -> None:
        from ivr.prompts import EspeakEngine

        self.said.append((language, text))
        EspeakEngine().render("en", ".", out)


def test_the_build_gives_the_engine_the_vocalised_text(tmp_path: Path) -> None:
    engine = Recorder()
    prompts = [p for p in load_catalogue() if p.key in ("goodbye", "say.day.21", "press")]
    PromptBuilder(tmp_path / "build", tmp_path / "recorded", engine=engine).build(  # type: ignore[arg-type]
        prompts
    )
    arabic = {text for language, text in engine.said if language == "ar"}
    assert "شُكْرًا لِاتِّصَالِكُمْ. مَعَ السَّلَامَةْ." in arabic
    assert "الْحَادِي وَالْعِشْرُونَ" in arabic
    assert "اِضْغَطْ" in arabic
    # People still read the plain text.
    goodbye = [p for p in prompts if p.key == "goodbye" and p.language == "ar"][0]
    assert goodbye.text == "شكراً لاتصالكم. مع السلامة."
