"""Arabic numbers, dates and times as the phone menu speaks them, and where callbacks re-enter."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.arabic import (
    cardinal,
    clock_time,
    day_of_month,
    generated_prompts,
    minutes,
    ordinal_feminine,
    ordinal_masculine,
)
from ivr.prompts import load_catalogue
from ivr.scripts.queue_callback import queue_position
from ivr.speech import arabic_moment_keys


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "دقيقة واحدة"),
        (2, "دقيقتان"),
        (3, "ثلاث دقائق"),
        (8, "ثماني دقائق"),
        (10, "عشر دقائق"),
        (11, "إحدى عشرة دقيقة"),
        (12, "اثنتا عشرة دقيقة"),
        (13, "ثلاث عشرة دقيقة"),
        (20, "عشرون دقيقة"),
        (21, "إحدى وعشرون دقيقة"),
        (22, "اثنتان وعشرون دقيقة"),
        (45, "خمس وأربعون دقيقة"),
    ],
)
def test_minutes_agree_with_the_noun(n: int, expected: str) -> None:
    assert minutes(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "صفر"),
        (3, "ثلاثة"),
        (11, "أحد عشر"),
        (12, "اثنا عشر"),
        (15, "خمسة عشر"),
        (23, "ثلاثة وعشرون"),
    ],
)
def test_cardinal_standalone(n: int, expected: str) -> None:
    assert cardinal(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "الأول"),
        (2, "الثاني"),
        (11, "الحادي عشر"),
        (12, "الثاني عشر"),
        (20, "العشرون"),
        (21, "الحادي والعشرون"),
        (31, "الحادي والثلاثون"),
    ],
)
def test_day_ordinals(n: int, expected: str) -> None:
    assert ordinal_masculine(n) == expected


def test_hours_are_feminine_ordinals() -> None:
    assert ordinal_feminine(1) == "الواحدة"
    assert ordinal_feminine(11) == "الحادية عشرة"
    assert ordinal_feminine(12) == "الثانية عشرة"


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (10, 30, "الساعة العاشرة والنصف صباحاً"),
        (9, 15, "الساعة التاسعة والربع صباحاً"),
        (13, 0, "الساعة الواحدة ظهراً"),
        (16, 5, "الساعة الرابعة وخمس دقائق مساءً"),
        (0, 20, "الساعة الثانية عشرة وعشرون دقيقة صباحاً"),
    ],
)
def test_clock_time(hour: int, minute: int, expected: str) -> None:
    assert clock_time(hour, minute) == expected


def test_date() -> None:
    assert day_of_month(21, 12) == "الحادي والعشرون من ديسمبر"


def test_out_of_range_numbers_are_refused() -> None:
    for call in (lambda: minutes(0), lambda: ordinal_feminine(13), lambda: cardinal(100)):
        with pytest.raises(ValueError):
            call()


def test_every_key_a_moment_needs_is_generated() -> None:
    generated = generated_prompts()
    zone = ZoneInfo("Asia/Riyadh")
    for moment in (
        datetime(2026, 12, 13, 10, 30, tzinfo=zone),
        datetime(2026, 12, 31, 23, 59, tzinfo=zone),
        datetime(2026, 1, 1, 0, 0, tzinfo=zone),
        datetime(2026, 6, 15, 14, 15, tzinfo=zone),
    ):
        keys = arabic_moment_keys(moment)
        assert all(key in generated for key in keys), keys
    keys = arabic_moment_keys(datetime(2026, 12, 13, 10, 30, tzinfo=zone))
    spoken = " ".join(generated[key] for key in keys)
    assert spoken == "يوم الأحد الثالث عشر من ديسمبر الساعة العاشرة والنصف صباحاً"


def test_catalogue_has_every_prompt_in_both_languages() -> None:
    prompts = load_catalogue()
    by_key: dict[str, set[str]] = {}
    for prompt in prompts:
        by_key.setdefault(prompt.key, set()).add(prompt.language)
    own = [k for k in by_key if not k.startswith(("say.", "digits.", "asterisk."))]
    missing = [k for k in own if by_key[k] != {"ar", "en"}]
    assert missing == []
    for official in ("minister", "deputy_minister", "undersecretary"):
        assert f"official.{official}" in by_key
    assert any(p.relative_path.as_posix() == "ar/queue-thereare.wav" for p in prompts)
    assert any(p.relative_path.as_posix() == "ar/digits/15.wav" for p in prompts)


@pytest.mark.parametrize(
    ("waiting", "joined", "expected"),
    [
        ([], 100.0, 1),
        ([90.0, 95.0], 100.0, 3),  # everyone came earlier: at the end
        ([90.0, 110.0, 120.0], 100.0, 2),  # behind the earlier caller, ahead of later ones
        ([110.0], 100.0, 1),  # the callers ahead were served meanwhile: now first
        ([90.0, None, 95.0], 100.0, 2),  # unknown join time: never jumped over
    ],
)
def test_callback_reenters_the_queue_at_its_place(
    waiting: list[float | None], joined: float, expected: int
) -> None:
    assert queue_position(waiting, joined) == expected
