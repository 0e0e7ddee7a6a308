"""Vocalised Arabic for the speech engine, plain Arabic for display, and a check of what the engine
makes of it.

Arabic is written without most of its vowels; a reader supplies them, espeak-ng does not (it reads
"المكوّن" as ``?almk'u:n``, "أرقام" as ``?Rq'a:m``: consonant clusters Arabic does not have). The
catalogue therefore gives every Arabic prompt fully vocalised (tashkeel) for the engine, and the
plain text for people. :func:`phoneme_problems` reads espeak-ng's phonemes (``-x``) of a text and
names what Arabic syllables cannot hold: a word starting with two consonants, three consonants in
a row (a doubled consonant counts once), a word without a vowel (one the engine could not
vocalise), or a switch to another language's rules.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata

FATHATAN = "\u064b"
SHADDA = "\u0651"
VOWEL_MARKS = "\u064b\u064c\u064d\u064e\u064f\u0650"
"""Fathatan, dammatan, kasratan, fatha, damma, kasra."""
MARKS = re.compile("[\u064b-\u0652\u0670]")
"""The short vowels, tanween, shadda, sukun and the dagger alif."""
_VOWELS = set("aeiou")
"""espeak-ng's vowel phonemes start with one of these (``a``, ``a:``, ``i.``...); ``A`` is ain."""
_STRESS = "',%=_"
_SAME_CONSONANT = {"R": "r"}
"""Phoneme names espeak-ng uses for one Arabic consonant in two positions."""


def display_text(vocalised: str) -> str:
    """The text people read: the marks dropped, except the fathatan of an adverb written, as
    usual, on its alif or hamza (شكراً, مساءً)."""
    text = re.sub("[\u064c-\u0652\u0670]", "", vocalised.replace("\u0671", "\u0627"))
    text = text.replace(FATHATAN + "\u0627", "\u0627" + FATHATAN)
    return re.sub(f"(?<![\u0627\u0621]){FATHATAN}", "", text)


def skeleton(text: str) -> str:
    """The letters alone (no mark at all): a vocalised text and its display text agree on it."""
    return MARKS.sub("", unicodedata.normalize("NFC", text).replace("\u0671", "\u0627"))


def engine_text(vocalised: str) -> str:
    """The text handed to espeak-ng: a shadda before its vowel mark.

    Unicode's canonical order puts the vowel first (NFC does), but espeak-ng's Arabic rules drop
    the vowel of a doubled consonant written that way ("السَّلام" became ``?asssl'a:m``).
    """
    return re.sub(f"([{VOWEL_MARKS}]){SHADDA}", rf"{SHADDA}\1", vocalised)


def espeak_available(binary: str = "espeak-ng") -> bool:
    """True when espeak-ng is installed."""
    return shutil.which(binary) is not None


def phonemes(text: str, binary: str = "espeak-ng") -> list[list[str]]:
    """espeak-ng's Arabic phonemes of ``text`` (its ``-x`` names), word by word."""
    result = subprocess.run(
        [binary, "-v", "ar", "-q", "-x", "--sep=_", engine_text(text)],
        check=True,
        capture_output=True,
        text=True,
    )
    return [word.split("_") for word in result.stdout.split() if word]


def _segments(word: list[str]) -> list[tuple[str, str]]:
    """(kind, name) of each phoneme: "V" vowel or "C" consonant, stress marks dropped."""
    segments = []
    for phoneme in word:
        name = phoneme.lstrip(_STRESS)
        if not name:
            continue
        kind = "V" if name[0] in _VOWELS else "C"
        base = name.rstrip(":.")
        segments.append((kind, _SAME_CONSONANT.get(base, base)))
    return segments


def word_problems(word: list[str]) -> list[str]:
    """What Arabic syllables cannot hold in one word's phonemes (empty: none)."""
    shown = "".join(word)
    if any("(" in phoneme for phoneme in word):
        return [f"{shown}: read with another language's rules"]
    segments = _segments(word)
    # A doubled consonant (shadda, or a sun letter after al-) is one long consonant.
    merged: list[tuple[str, str]] = []
    for segment in segments:
        if merged and segment[0] == "C" and merged[-1] == segment:
            continue
        merged.append(segment)
    kinds = "".join(kind for kind, _ in merged)
    problems = []
    if "V" not in kinds:
        problems.append(f"{shown}: no vowel (not vocalised)")
    elif kinds.startswith("CC"):
        problems.append(f"{shown}: starts with two consonants")
    if "CCC" in kinds:
        problems.append(f"{shown}: three consonants in a row")
    return problems


def phoneme_problems(text: str, binary: str = "espeak-ng") -> list[str]:
    """Every word of ``text`` whose espeak-ng phonemes Arabic cannot hold, with why."""
    found = []
    for word in phonemes(text, binary):
        found.extend(word_problems(word))
    return found
