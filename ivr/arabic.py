"""Arabic words for the numbers, dates and times the phone menu speaks.

Asterisk's SayNumber and SayDateTime have no Arabic rules, and Arabic numbers agree with the noun
they count (gender, and singular, dual or plural by the count). These functions write the
phrases out; the prompt builder renders each one as a sound file, and the flows play them by key
(see :func:`generated_prompts`). Everything is pure, so every phrase is unit-tested.

The words are written fully vocalised (tashkeel): that is what the speech engine is given
(``speech=True``; espeak-ng cannot guess Arabic's unwritten vowels). By default each function
returns the plain text people read (:func:`ivr.vocalisation.display_text`).
"""

from __future__ import annotations

from ivr.vocalisation import display_text

_UNITS_PAUSAL = (
    "",
    "وَاحِدْ",
    "اثْنَانْ",
    "ثَلَاثَةْ",
    "أَرْبَعَةْ",
    "خَمْسَةْ",
    "سِتَّةْ",
    "سَبْعَةْ",
    "ثَمَانِيَةْ",
    "تِسْعَةْ",
)
"""A number read on its own ("رقم ثلاثة", a digit of a reference): the masculine counting form,
with the pause's silent ending."""
_UNITS_NOMINATIVE = (
    "",
    "وَاحِدٌ",
    "اثْنَانِ",
    "ثَلَاثَةٌ",
    "أَرْبَعَةٌ",
    "خَمْسَةٌ",
    "سِتَّةٌ",
    "سَبْعَةٌ",
    "ثَمَانِيَةٌ",
    "تِسْعَةٌ",
)
"""The units of 21-99 ("ثلاثة وعشرون")."""
_UNITS_TEEN = ("", "", "", "ثَلَاثَةَ", "أَرْبَعَةَ", "خَمْسَةَ", "سِتَّةَ", "سَبْعَةَ", "ثَمَانِيَةَ", "تِسْعَةَ")
"""The units of 13-19, built on fatha ("خمسة عشر")."""
_UNITS_FOR_FEMININE_NOUN = (
    "",
    "",
    "",
    "ثَلَاثُ",
    "أَرْبَعُ",
    "خَمْسُ",
    "سِتُّ",
    "سَبْعُ",
    "ثَمَانِي",
    "تِسْعُ",
)
"""Counting a feminine noun 3-10 takes the other gender's form (see :func:`count_feminine_noun`)."""
_UNITS_FOR_FEMININE_TEEN = (
    "",
    "",
    "",
    "ثَلَاثَ",
    "أَرْبَعَ",
    "خَمْسَ",
    "سِتَّ",
    "سَبْعَ",
    "ثَمَانِيَ",
    "تِسْعَ",
)
_TENS = (
    "",
    "عَشَرَةْ",
    "عِشْرُونَ",
    "ثَلَاثُونَ",
    "أَرْبَعُونَ",
    "خَمْسُونَ",
    "سِتُّونَ",
    "سَبْعُونَ",
    "ثَمَانُونَ",
    "تِسْعُونَ",
)
_ORDINAL_MASCULINE = (
    "",
    "الْأَوَّل",
    "الثَّانِي",
    "الثَّالِث",
    "الرَّابِع",
    "الْخَامِس",
    "السَّادِس",
    "السَّابِع",
    "الثَّامِن",
    "التَّاسِع",
    "الْعَاشِر",
)
"""Without their case ending: nominative alone ("الثالثُ"), built on fatha before عشر."""
_ORDINAL_FEMININE = (
    "",
    "الْوَاحِدَةُ",
    "الثَّانِيَةُ",
    "الثَّالِثَةُ",
    "الرَّابِعَةُ",
    "الْخَامِسَةُ",
    "السَّادِسَةُ",
    "السَّابِعَةُ",
    "الثَّامِنَةُ",
    "التَّاسِعَةُ",
    "الْعَاشِرَةُ",
)
_MONTHS = (
    "يَنَايِرَ",
    "فِبْرَايِرَ",
    "مَارِسَ",
    "أَبْرِيلَ",
    "مَايُو",
    "يُونْيُو",
    "يُولْيُو",
    "أَغُسْطُسَ",
    "سِبْتَمْبَرَ",
    "أُكْتُوبَرَ",
    "نُوفَمْبَرَ",
    "دِيسَمْبَرَ",
)
_WEEKDAYS = (
    "الِاثْنَيْنِ",
    "الثُّلَاثَاءِ",
    "الْأَرْبِعَاءِ",
    "الْخَمِيسِ",
    "الْجُمُعَةِ",
    "السَّبْتِ",
    "الْأَحَدِ",
)
MONTHS = tuple(display_text(name) for name in _MONTHS)
WEEKDAYS = tuple(display_text(name) for name in _WEEKDAYS)
"""Monday first, like ``date.weekday()``."""
_SUN_LETTERS = "تثدذرزسشصضطظلن"
"""After al-, these take the lam's place (a doubled consonant) instead of following it."""


def _check(n: int, low: int, high: int) -> None:
    if not low <= n <= high:
        raise ValueError(f"{n} is outside {low}..{high}")


def _out(vocalised: str, speech: bool) -> str:
    return vocalised if speech else display_text(vocalised)


def _definite(word: str) -> str:
    """The word with al-: "الْعِشْرُونَ", and a sun letter doubled: "الثَّلَاثُونَ"."""
    if word[0] in _SUN_LETTERS:
        return "ال" + word[0] + "\u0651" + word[1:]
    return "الْ" + word


def _ordinal(n: int, ending: str) -> str:
    stem = _ORDINAL_MASCULINE[n]
    return stem if stem.endswith("ي") and ending == "ُ" else stem + ending


def cardinal(n: int, *, speech: bool = False) -> str:
    """A number from 0 to 99 read on its own ("رقم ثلاثة"): the masculine counting form."""
    _check(n, 0, 99)
    tens, unit = divmod(n, 10)
    if n == 0:
        text = "صِفْرْ"
    elif n < 10:
        text = _UNITS_PAUSAL[n]
    elif n == 10:
        text = "عَشَرَةْ"
    elif n == 11:
        text = "أَحَدَ عَشَرْ"
    elif n == 12:
        text = "اثْنَا عَشَرْ"
    elif n < 20:
        text = f"{_UNITS_TEEN[unit]} عَشَرْ"
    elif unit == 0:
        text = _TENS[tens]
    else:
        text = f"{_UNITS_NOMINATIVE[unit]} وَ{_TENS[tens]}"
    return _out(text, speech)


def count_feminine_noun(
    n: int, singular: str, dual: str, plural: str, *, speech: bool = False
) -> str:
    """Count a feminine noun (دقيقة, ساعة) from 1 to 99 with the agreement Arabic requires.

    1 and 2 follow the noun (دقيقة واحدة, دقيقتان); 3-10 take the masculine-looking form and a
    plural noun (ثلاث دقائق); 11-99 take a singular accusative noun (إحدى عشرة دقيقة).
    ``singular`` is the noun without its case ending (دَقِيقَة), vocalised like the others.
    """
    _check(n, 1, 99)
    tens, unit = divmod(n, 10)
    accusative = singular + "ً"
    if n == 1:
        text = f"{singular}ٌ وَاحِدَةٌ"
    elif n == 2:
        text = dual
    elif n < 10:
        text = f"{_UNITS_FOR_FEMININE_NOUN[n]} {plural}"
    elif n == 10:
        text = f"عَشْرُ {plural}"
    elif n == 11:
        text = f"إِحْدَى عَشْرَةَ {accusative}"
    elif n == 12:
        text = f"اثْنَتَا عَشْرَةَ {accusative}"
    elif n < 20:
        text = f"{_UNITS_FOR_FEMININE_TEEN[unit]} عَشْرَةَ {accusative}"
    elif unit == 0:
        text = f"{_TENS[tens]} {accusative}"
    else:
        units = {1: "إِحْدَى", 2: "اثْنَتَانِ"}.get(unit) or _UNITS_FOR_FEMININE_NOUN[unit]
        text = f"{units} وَ{_TENS[tens]} {accusative}"
    return _out(text, speech)


def minutes(n: int, *, speech: bool = False) -> str:
    """ "N minutes" with the number agreeing with دقيقة."""
    return count_feminine_noun(n, "دَقِيقَة", "دَقِيقَتَانِ", "دَقَائِقَ", speech=speech)


def ordinal_masculine(n: int, *, speech: bool = False) -> str:
    """The masculine ordinal from 1 to 99 (اليوم الحادي والعشرون, الترتيب الثالث)."""
    _check(n, 1, 99)
    tens, unit = divmod(n, 10)
    if n <= 10:
        text = _ordinal(n, "ُ")
    elif n < 20:
        first = "الْحَادِيَ" if unit == 1 else _ordinal(unit, "َ")
        text = f"{first} عَشَرَ"
    elif unit == 0:
        text = _definite(_TENS[tens])
    else:
        first = "الْحَادِي" if unit == 1 else _ordinal(unit, "ُ")
        text = f"{first} وَ{_definite(_TENS[tens])}"
    return _out(text, speech)


def ordinal_feminine(n: int, *, speech: bool = False) -> str:
    """The feminine ordinal from 1 to 12, as hours are told (الساعة الحادية عشرة)."""
    _check(n, 1, 12)
    if n <= 10:
        text = _ORDINAL_FEMININE[n]
    else:
        text = "الْحَادِيَةَ عَشْرَةَ" if n == 11 else "الثَّانِيَةَ عَشْرَةَ"
    return _out(text, speech)


def clock_time(hour: int, minute: int, *, speech: bool = False) -> str:
    """A time of day the way it is said: الساعة العاشرة والنصف صباحاً."""
    _check(hour, 0, 23)
    _check(minute, 0, 59)
    twelve = hour % 12 or 12
    if minute == 0:
        after = ""
    elif minute == 15:
        after = " وَالرُّبْعُ"
    elif minute == 30:
        after = " وَالنِّصْفُ"
    else:
        after = " وَ" + minutes(minute, speech=True)
    if hour < 12:
        period = "صَبَاحًا"
    elif hour < 15:
        period = "ظُهْرًا"
    else:
        period = "مَسَاءً"
    hour_words = ordinal_feminine(twelve, speech=True)
    return _out(f"السَّاعَةُ {hour_words}{after} {period}", speech)


def day_of_month(day: int, month: int, *, speech: bool = False) -> str:
    """A date without the year: اليوم الحادي والعشرون من ديسمبر -> "الحادي والعشرون من ديسمبر"."""
    _check(day, 1, 31)
    _check(month, 1, 12)
    return _out(f"{ordinal_masculine(day, speech=True)} مِنْ {_MONTHS[month - 1]}", speech)


def generated_prompts(*, speech: bool = False) -> dict[str, str]:
    """Every generated Arabic phrase by prompt key; the flows compose them (see ivr.speech).

    ``speech=True`` gives the vocalised text the speech engine is given.
    """
    table: dict[str, str] = {}
    for n in range(1, 60):
        table[f"say.minutes.{n}"] = minutes(n, speech=True)
        table[f"say.and_minutes.{n}"] = "وَ" + minutes(n, speech=True)
    for hour in range(24):
        said = clock_time(hour, 0, speech=True)
        table[f"say.hour.{hour}"] = said.rsplit(" ", 1)[0]
        table[f"say.period.{hour}"] = said.rsplit(" ", 1)[1]
    for n in range(1, 32):
        table[f"say.day.{n}"] = ordinal_masculine(n, speech=True)
    for n, name in enumerate(_MONTHS, 1):
        table[f"say.month.{n}"] = "مِنْ " + name
    for n, name in enumerate(_WEEKDAYS):
        table[f"say.weekday.{n}"] = "يَوْمَ " + name
    table["say.quarter"] = "وَالرُّبْعُ"
    table["say.half"] = "وَالنِّصْفُ"
    # Asterisk's own SayNumber (queue position announcements) plays digits/<n> for 0-20 and the
    # tens; with these the standalone counting forms are right up to 20 (the queue says "more
    # than ten" beyond its announce-position-limit).
    for n in [*range(0, 21), 30, 40, 50, 60, 70, 80, 90]:
        table[f"digits.{n}"] = cardinal(n, speech=True)
    if speech:
        return table
    return {key: display_text(text) for key, text in table.items()}
