"""Working hours: when agents answer and callbacks may be placed, in the centre's local time.

A week of opening hours (``working_days``, ``working_hours``, per branch ``branch_hours``),
periods with hours of their own (``hours_overrides``: Ramadan, a summer timetable) and days the
centre is closed (``holidays``), each written as the README's configuration section says:

- hours are one or more ranges, ``"08:00-16:00"`` or ``"09:00-12:00,16:00-22:00"``; a range
  that ends at or before it starts runs past midnight (``"21:00-02:00"``, ``"20:00-00:00"``) and
  belongs to the day it starts on; ``24:00`` is the end of the day (``"08:00-24:00"``);
- a date is Gregorian ``2026-03-02`` or, after ``hijri``, Umm al-Qura ``hijri 1447-10-01``;
  without its year (``09-23``, ``hijri 10-01``) it comes back every year of its calendar;
  ``a..b`` is every day from a to b inclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hijridate import Gregorian, Hijri

from tawasul.config import Settings
from tawasul.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_S = 86_400
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_SEARCH_DAYS = 800
"""How far ahead the next opening is looked for (two years: a Hijri holiday list can close a
centre for a long time, but never for ever)."""


@dataclass(frozen=True)
class Shift:
    """One opening range of a day, in seconds from that day's local midnight.

    ``closes`` is above 86 400 for a shift that runs past midnight.
    """

    opens: int
    closes: int


def _clock_seconds(text: str) -> int:
    found = _CLOCK.match(text.strip())
    if found is None:
        raise ValueError(f"{text.strip()!r} is not a time (HH:MM)")
    hours, minutes, seconds = int(found[1]), int(found[2]), int(found[3] or 0)
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        raise ValueError(f"{text.strip()!r} is not a time of day")
    return hours * 3600 + minutes * 60 + seconds


def parse_shifts(text: str) -> tuple[Shift, ...]:
    """Read ``"08:00-16:00"``, ``"21:00-02:00"`` or ``"09:00-12:00,16:00-22:00"``.

    Raises:
        ValueError: for a malformed range, an empty one, or ranges that overlap.
    """
    shifts = []
    for part in text.split(","):
        opens_text, sep, closes_text = part.partition("-")
        if not sep:
            raise ValueError(f"{part.strip()!r} is not a range (HH:MM-HH:MM)")
        opens, closes = _clock_seconds(opens_text), _clock_seconds(closes_text)
        if opens == DAY_S:
            raise ValueError(f"{part.strip()!r} opens at 24:00: write 00:00")
        if opens == closes:
            raise ValueError(f"{part.strip()!r} is empty (all day is 00:00-24:00)")
        if closes < opens:
            closes += DAY_S  # past midnight: it ends the next morning
        shifts.append(Shift(opens, closes))
    shifts.sort(key=lambda shift: shift.opens)
    for earlier, later in zip(shifts, shifts[1:], strict=False):
        if later.opens < earlier.closes:
            raise ValueError(f"the ranges of {text.strip()!r} overlap")
    if shifts and shifts[-1].closes > shifts[0].opens + DAY_S:
        raise ValueError(f"{text.strip()!r} runs into the next day's opening")
    return tuple(shifts)


def parse_days(text: str) -> frozenset[int]:
    """Read ``"sun,mon,tue"`` (any case, full names too) as weekday numbers, Monday 0.

    Raises:
        ValueError: for a name that is not a day.
    """
    days = set()
    for name in text.split(","):
        short = name.strip().lower()[:3]
        if short not in DAYS:
            raise ValueError(f"{name.strip()!r} is not a day of the week")
        days.add(DAYS.index(short))
    return frozenset(days)


def parse_week(spec: str) -> tuple[frozenset[int] | None, tuple[Shift, ...]]:
    """Read ``"[days] hours"``: ``"sat,sun 08:00-14:00"``, ``"09:00-12:00, 16:00-22:00"``,
    ``"closed"``; the days are None when not given.

    Raises:
        ValueError: for anything malformed.
    """
    text = spec.strip()
    if text.lower() == "closed":
        return None, ()
    found = re.match(r"^(\D*?)\s*(\d.*)$", text)
    if found is None:
        raise ValueError(f"{text!r} has no hours (HH:MM-HH:MM, or closed)")
    days_text, hours_text = found[1].strip(), found[2]
    if days_text.lower().endswith("closed"):
        raise ValueError(f"{text!r}: closed takes no hours")
    return (parse_days(days_text) if days_text else None), parse_shifts(hours_text)


@dataclass(frozen=True)
class DateRule:
    """Days given as Gregorian or Hijri dates, one or a range, once or every year."""

    hijri: bool
    first: tuple[int, int, int]
    """(year, month, day); year 0 when the rule comes back every year."""
    last: tuple[int, int, int]

    @classmethod
    def parse(cls, text: str) -> DateRule:
        """Read ``2026-03-02``, ``09-23``, ``hijri 1447-10-01..1447-10-04``, ``hijri 09-01..09-30``.

        Raises:
            ValueError: for a malformed or impossible date, or a range mixing yearly and dated
                ends or ending before it starts.
        """
        body = text.strip()
        hijri = body.lower().startswith("hijri")
        if hijri:
            body = body[5:].strip()
        first_text, sep, last_text = body.partition("..")
        first = cls._date(first_text, hijri)
        last = cls._date(last_text, hijri) if sep else first
        if (first[0] == 0) != (last[0] == 0):
            raise ValueError(f"{text.strip()!r}: both ends need a year, or neither")
        if first[0] and last < first:
            raise ValueError(f"{text.strip()!r} ends before it starts")
        return cls(hijri, first, last)

    @staticmethod
    def _date(text: str, hijri: bool) -> tuple[int, int, int]:
        parts = text.strip().split("-")
        if len(parts) not in (2, 3) or not all(p.isascii() and p.isdigit() for p in parts):
            raise ValueError(f"{text.strip()!r} is not a date (YYYY-MM-DD or MM-DD)")
        numbers = [int(p) for p in parts]
        year, month, day = numbers if len(numbers) == 3 else [0, *numbers]
        if hijri:
            if year:
                Hijri(year, month, day)  # raises ValueError outside the Umm al-Qura table
            elif not (1 <= month <= 12 and 1 <= day <= 30):
                raise ValueError(f"{text.strip()!r} is not a Hijri month and day")
        else:
            date(year or 2000, month, day)  # a leap year, so 02-29 is allowed
        return (year, month, day)

    def matches(self, day: date) -> bool:
        """Return True when ``day`` (Gregorian) is one of the rule's days."""
        if self.hijri:
            try:
                converted = Gregorian(day.year, day.month, day.day).to_hijri()
            except (OverflowError, ValueError):
                return False  # outside the Umm al-Qura table: no Hijri date to match
            ymd = (converted.year, converted.month, converted.day)
        else:
            ymd = (day.year, day.month, day.day)
        if self.first[0]:
            return self.first <= ymd <= self.last
        month_day, first, last = ymd[1:], self.first[1:], self.last[1:]
        if first <= last:
            return first <= month_day <= last
        return month_day >= first or month_day <= last  # wraps round the year's end


@dataclass(frozen=True)
class Override:
    """A period with hours of its own (Ramadan, a summer timetable), for one branch or all."""

    dates: DateRule
    branch: str | None
    days: frozenset[int] | None
    """The weekdays it opens; None: the usual working days."""
    shifts: tuple[Shift, ...]
    """Empty: closed for the whole period."""

    @classmethod
    def parse(cls, text: str) -> Override:
        """Read ``"[branch:] dates = [days] hours"``, hours being ranges or ``closed``.

        Raises:
            ValueError: for anything malformed.
        """
        head, sep, spec = text.partition("=")
        if not sep:
            raise ValueError(f"{text!r} is not 'dates = hours'")
        branch = None
        if ":" in head:
            branch_text, _, head = head.partition(":")
            branch = branch_text.strip()
        days, shifts = parse_week(spec)
        return cls(DateRule.parse(head), branch or None, days, shifts)


@dataclass(frozen=True)
class WorkingHours:
    """Opening days and hours, dated overrides and holidays, in one time zone."""

    zone: ZoneInfo
    days: frozenset[int]
    """Weekday numbers (Monday 0) the centre opens in an ordinary week."""
    shifts: tuple[Shift, ...]
    """The hours of an ordinary working day."""
    holidays: tuple[DateRule, ...] = ()
    overrides: tuple[Override, ...] = ()
    """The overrides of this branch first, then the centre's; the first that matches wins."""

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkingHours:
        """The centre's hours: ``timezone``, ``working_days``, ``working_hours``, ``holidays``
        and the overrides for every branch in ``hours_overrides``; every branch's
        ``branch_hours`` and overrides are checked too.

        Raises:
            ConfigError: for an unknown day or zone, a malformed range or date.
        """
        try:
            zone = ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"timezone: {settings.timezone!r} is not a time zone") from exc
        try:
            days = parse_days(",".join(settings.working_days))
            shifts = parse_shifts(settings.working_hours)
        except ValueError as exc:
            raise ConfigError(f"working hours: {exc}") from exc
        holidays = []
        for entry in settings.holidays:
            try:
                holidays.append(DateRule.parse(entry))
            except ValueError as exc:
                raise ConfigError(f"holidays: {exc}") from exc
        for entry in settings.branch_hours:
            # Every branch's week is read now, so a mistake stops the process at start-up
            # rather than the first call for that branch.
            name, sep, spec = entry.partition("=")
            if not sep or name.strip() not in settings.branches:
                raise ConfigError(f"branch hours: {entry!r} is not <branch>=[days] hours")
            try:
                parse_week(spec)
            except ValueError as exc:
                raise ConfigError(f"branch hours of {name.strip()}: {exc}") from exc
        centre = tuple(o for o in _overrides(settings) if o.branch is None)
        return cls(zone, days, shifts, tuple(holidays), centre)

    @classmethod
    def for_branch(cls, settings: Settings, branch: str) -> WorkingHours:
        """The hours of one branch: ``branch_hours`` replaces its ordinary days and hours, its
        own overrides come before the centre's; holidays and time zone are the centre's.

        Raises:
            ConfigError: for a malformed setting.
        """
        base = cls.from_settings(settings)
        days, shifts = base.days, base.shifts
        for entry in settings.branch_hours:
            name, sep, spec = entry.partition("=")
            if not sep:
                raise ConfigError(f"branch hours: {entry!r} is not branch=hours")
            if name.strip() != branch:
                continue
            try:
                own_days, shifts = parse_week(spec)
                days = base.days if own_days is None else own_days
            except ValueError as exc:
                raise ConfigError(f"branch hours of {branch}: {exc}") from exc
        overrides = _overrides(settings)
        own = tuple(o for o in overrides if o.branch == branch)
        return cls(base.zone, days, shifts, base.holidays, own + base.overrides)

    def shifts_on(self, day: date) -> tuple[Shift, ...]:
        """The shifts that start on ``day`` (a local date): none on a holiday."""
        if any(rule.matches(day) for rule in self.holidays):
            return ()
        for override in self.overrides:
            if override.dates.matches(day):
                days = self.days if override.days is None else override.days
                return override.shifts if day.weekday() in days else ()
        return self.shifts if day.weekday() in self.days else ()

    def is_open(self, moment: datetime) -> bool:
        """Return True when the centre is open at ``moment`` (an aware datetime).

        A shift that runs past midnight keeps the centre open the next morning, even when
        that morning is a holiday: the shift began on a working day.
        """
        local = moment.astimezone(self.zone)
        today = local.date()
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        for back in (0, 1):
            offset = seconds + back * DAY_S
            for shift in self.shifts_on(today - timedelta(days=back)):
                if shift.opens <= offset < shift.closes:
                    return True
        return False

    def next_opening(self, moment: datetime) -> datetime:
        """Return ``moment`` if open, else when the centre next opens (aware, same zone).

        Raises:
            ConfigError: when the centre never opens in the next two years.
        """
        if self.is_open(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            midnight = datetime.combine(day, time(0, 0), self.zone)
            for shift in self.shifts_on(day):
                start = midnight + timedelta(seconds=shift.opens)
                if start > local:
                    return start
            day += timedelta(days=1)
        raise ConfigError("working hours: the centre never opens")


def _overrides(settings: Settings) -> list[Override]:
    overrides = []
    for entry in settings.hours_overrides:
        try:
            override = Override.parse(entry)
        except ValueError as exc:
            raise ConfigError(f"hours overrides: {exc}") from exc
        if override.branch is not None and override.branch not in settings.branches:
            raise ConfigError(f"hours overrides: {override.branch!r} is not a branch")
        overrides.append(override)
    return overrides
