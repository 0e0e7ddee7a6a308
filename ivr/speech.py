"""Spoken numbers, dates and times in the caller's language.

Arabic is composed from the generated phrases of :mod:`ivr.arabic` (Asterisk has no Arabic
rules); English uses Asterisk's own SayDateTime and SayNumber with its English sounds.
"""

from __future__ import annotations

from datetime import datetime

from ivr.agi import Channel
from ivr.prompts import sound
from tawasul.models import Language

ENGLISH_MOMENT = "A B e 'digits/at' IMp"
"""SayDateTime format: "Sunday December thirteenth at ten thirty a m"."""


def arabic_moment_keys(local: datetime, with_date: bool = True) -> list[str]:
    """The generated prompts that say ``local`` in Arabic, in order."""
    keys = []
    if with_date:
        keys += [
            f"say.weekday.{local.weekday()}",
            f"say.day.{local.day}",
            f"say.month.{local.month}",
        ]
    keys.append(f"say.hour.{local.hour}")
    if local.minute == 15:
        keys.append("say.quarter")
    elif local.minute == 30:
        keys.append("say.half")
    elif local.minute:
        keys.append(f"say.and_minutes.{local.minute}")
    keys.append(f"say.period.{local.hour}")
    return keys


def say_moment(
    channel: Channel, language: Language, local: datetime, timezone: str, escape_digits: str = ""
) -> str:
    """Say a day and time of day (an appointment, when agents are back); return a digit in
    ``escape_digits`` pressed meanwhile (which stops the saying), or ''."""
    if language == Language.AR:
        for key in arabic_moment_keys(local):
            pressed = channel.stream_file(sound(key), escape_digits)
            if pressed:
                return pressed
        return ""
    return channel.say_datetime(int(local.timestamp()), ENGLISH_MOMENT, timezone, escape_digits)


def say_choice(channel: Channel, prompt: str, digit: str, escape_digits: str) -> str:
    """Say "<option>, press <digit>"; return a digit pressed meanwhile, or ''."""
    pressed = channel.stream_file(sound(prompt), escape_digits)
    if not pressed:
        pressed = channel.stream_file(sound("press"), escape_digits)
    if not pressed:
        pressed = channel.say_digits(digit, escape_digits)
    return pressed
