"""Arabic words for the numbers, dates and times the phone menu speaks.

Asterisk's SayNumber and SayDateTime have no Arabic rules, and Arabic numbers agree with the noun
they count (gender, and singular, dual or plural by the count). These functions write the
phrases out; the prompt builder renders each one as a sound file, and the flows play them by key
(see :func:`generated_prompts`). Everything is pure, so every phrase is unit-tested.
"""

from __future__ import annotations

_UNITS_MASCULINE = (
    "",
    "واحد",
    "اثنان",
    "ثلاثة",
    "أربعة",
    "خمسة",
    "ستة",
    "سبعة",
    "ثمانية",
    "تسعة",
)
"""Standalone counting form (a number read on its own, or counting a masculine noun 3-10 takes
the other gender's form: see :func:`count_feminine_noun`)."""
_UNITS_FOR_FEMININE_NOUN = ("", "", "", "ثلاث", "أربع", "خمس", "ست", "سبع", "ثماني", "تسع")
_TENS = ("", "عشرة", "عشرون", "ثلاثون", "أربعون", "خمسون", "ستون", "سبعون", "ثمانون", "تسعون")
_ORDINAL_MASCULINE = (
    "",
    "الأول",
    "الثاني",
    "الثالث",
    "الرابع",
    "الخامس",
    "السادس",
    "السابع",
    "الثامن",
    "التاسع",
    "العاشر",
)
_ORDINAL_FEMININE = (
    "",
    "الواحدة",
    "الثانية",
    "الثالثة",
    "الرابعة",
    "الخامسة",
    "السادسة",
    "السابعة",
    "الثامنة",
    "التاسعة",
    "العاشرة",
)
MONTHS = (
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
)
WEEKDAYS = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
"""Monday first, like ``date.weekday()``."""


def _check(n: int, low: int, high: int) -> None:
    if not low <= n <= high:
        raise ValueError(f"{n} is outside {low}..{high}")


def cardinal(n: int) -> str:
    """A number from 0 to 99 read on its own ("رقم ثلاثة"): the masculine counting form."""
    _check(n, 0, 99)
    if n == 0:
        return "صفر"
    tens, unit = divmod(n, 10)
    if n < 10:
        return _UNITS_MASCULINE[n]
    if n == 10:
        return "عشرة"
    if n == 11:
        return "أحد عشر"
    if n == 12:
        return "اثنا عشر"
    if n < 20:
        return f"{_UNITS_MASCULINE[unit]} عشر"
    if unit == 0:
        return _TENS[tens]
    return f"{_UNITS_MASCULINE[unit]} و{_TENS[tens]}"


def count_feminine_noun(n: int, singular: str, dual: str, plural: str) -> str:
    """Count a feminine noun (دقيقة, ساعة) from 1 to 99 with the agreement Arabic requires.

    1 and 2 follow the noun (دقيقة واحدة, دقيقتان); 3-10 take the masculine-looking form and a
    plural noun (ثلاث دقائق); 11-99 take a singular accusative noun (إحدى عشرة دقيقة).
    """
    _check(n, 1, 99)
    tens, unit = divmod(n, 10)
    if n == 1:
        return f"{singular} واحدة"
    if n == 2:
        return dual
    if n < 10:
        return f"{_UNITS_FOR_FEMININE_NOUN[n]} {plural}"
    if n == 10:
        return f"عشر {plural}"
    if n == 11:
        return f"إحدى عشرة {singular}"
    if n == 12:
        return f"اثنتا عشرة {singular}"
    if n < 20:
        return f"{_UNITS_FOR_FEMININE_NOUN[unit]} عشرة {singular}"
    if unit == 0:
        return f"{_TENS[tens]} {singular}"
    units = {1: "إحدى", 2: "اثنتان"}.get(unit) or _UNITS_FOR_FEMININE_NOUN[unit]
    return f"{units} و{_TENS[tens]} {singular}"


def minutes(n: int) -> str:
    """ "N minutes" with the number agreeing with دقيقة."""
    return count_feminine_noun(n, "دقيقة", "دقيقتان", "دقائق")


def ordinal_masculine(n: int) -> str:
    """The masculine ordinal from 1 to 99 (اليوم الحادي والعشرون, الترتيب الثالث)."""
    _check(n, 1, 99)
    tens, unit = divmod(n, 10)
    if n <= 10:
        return _ORDINAL_MASCULINE[n]
    if n < 20:
        first = "الحادي" if unit == 1 else _ORDINAL_MASCULINE[unit]
        return f"{first} عشر"
    if unit == 0:
        return "ال" + _TENS[tens]
    first = "الحادي" if unit == 1 else _ORDINAL_MASCULINE[unit]
    return f"{first} وال{_TENS[tens]}"


def ordinal_feminine(n: int) -> str:
    """The feminine ordinal from 1 to 12, as hours are told (الساعة الحادية عشرة)."""
    _check(n, 1, 12)
    if n <= 10:
        return _ORDINAL_FEMININE[n]
    return "الحادية عشرة" if n == 11 else "الثانية عشرة"


def clock_time(hour: int, minute: int) -> str:
    """A time of day the way it is said: الساعة العاشرة والنصف صباحاً."""
    _check(hour, 0, 23)
    _check(minute, 0, 59)
    twelve = hour % 12 or 12
    if minute == 0:
        after = ""
    elif minute == 15:
        after = " والربع"
    elif minute == 30:
        after = " والنصف"
    else:
        after = " و" + minutes(minute)
    if hour < 12:
        period = "صباحاً"
    elif hour < 15:
        period = "ظهراً"
    else:
        period = "مساءً"
    return f"الساعة {ordinal_feminine(twelve)}{after} {period}"


def day_of_month(day: int, month: int) -> str:
    """A date without the year: اليوم الحادي والعشرون من ديسمبر -> "الحادي والعشرون من ديسمبر"."""
    _check(day, 1, 31)
    _check(month, 1, 12)
    return f"{ordinal_masculine(day)} من {MONTHS[month - 1]}"


def generated_prompts() -> dict[str, str]:
    """Every generated Arabic phrase by prompt key; the flows compose them (see ivr.speech)."""
    table: dict[str, str] = {}
    for n in range(1, 60):
        table[f"say.minutes.{n}"] = minutes(n)
        table[f"say.and_minutes.{n}"] = "و" + minutes(n)
    for hour in range(24):
        table[f"say.hour.{hour}"] = clock_time(hour, 0).rsplit(" ", 1)[0]
        table[f"say.period.{hour}"] = clock_time(hour, 0).rsplit(" ", 1)[1]
    for n in range(1, 32):
        table[f"say.day.{n}"] = ordinal_masculine(n)
    for n, name in enumerate(MONTHS, 1):
        table[f"say.month.{n}"] = "من " + name
    for n, name in enumerate(WEEKDAYS):
        table[f"say.weekday.{n}"] = "يوم " + name
    table["say.quarter"] = "والربع"
    table["say.half"] = "والنصف"
    # Asterisk's own SayNumber (queue position announcements) plays digits/<n> for 0-20 and the
    # tens; with these the standalone counting forms are right up to 20 (the queue says "more
    # than ten" beyond its announce-position-limit).
    for n in [*range(0, 21), 30, 40, 50, 60, 70, 80, 90]:
        table[f"digits.{n}"] = cardinal(n)
    return table
