"""Dates as the console shows them: Gregorian and Hijri (Umm al-Qura), in the centre's time."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from hijridate import Gregorian

from agent_api.services import EXTENSION
from tawasul.appointments import CENTRE_TZ


def hijri_of(day: date) -> dict[str, str] | None:
    """The Umm al-Qura date of a Gregorian day, or None outside the calendar's table."""
    found = _hijri_of(day)
    return dict(found) if found is not None else None


@functools.lru_cache(maxsize=4096)
def _hijri_of(day: date) -> dict[str, str] | None:
    # A page of requests has a few days among its dates, and every day the same answer: the
    # conversion and its month names were a tenth of a list page's CPU.
    try:
        hijri = Gregorian(day.year, day.month, day.day).to_hijri()
    except (OverflowError, ValueError):
        return None
    return {
        "date": hijri.isoformat(),
        "ar": f"{hijri.day} {hijri.month_name('ar')} {hijri.year} هـ",
        "en": f"{hijri.day} {hijri.month_name('en')} {hijri.year} AH",
    }


def centre_zone() -> tzinfo:
    """The centre's time zone: the running app's ``timezone`` setting (UTC+3 outside an app)."""
    if has_app_context():
        found = current_app.extensions.get(EXTENSION)
        if found is not None:
            return ZoneInfo(found.settings.timezone)
    return CENTRE_TZ


def moment(value: datetime, zone: tzinfo | None = None) -> dict[str, Any]:
    """A point in time in UTC, plus the centre's local date (both calendars) and time."""
    local = value.astimezone(zone or centre_zone())
    day = local.date()
    # A list page dumps fifty of these: no second conversion of what is UTC already, and the
    # wall-clock time formatted without strftime (the same "%H:%M").
    return {
        "utc": (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat(),
        "local": local.isoformat(),
        "gregorian": day.isoformat(),
        "hijri": hijri_of(day),
        "time": f"{local.hour:02d}:{local.minute:02d}",
    }
