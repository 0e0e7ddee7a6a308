"""Working hours: when agents answer and callbacks may be placed, in the centre's local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tawasul.config import Settings
from tawasul.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkingHours:
    """Opening days and hours, with holidays, in one time zone."""

    zone: ZoneInfo
    days: frozenset[int]
    """Weekday numbers (Monday 0) the centre opens."""
    opens: time
    closes: time
    holidays: frozenset[date]

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkingHours:
        """Read ``timezone``, ``working_days``, ``working_hours`` and ``holidays``.

        Raises:
            ConfigError: for an unknown day, a malformed range or date.
        """
        try:
            opens_text, closes_text = settings.working_hours.split("-")
            opens, closes = time.fromisoformat(opens_text), time.fromisoformat(closes_text)
            days = frozenset(DAYS.index(day.strip().lower()[:3]) for day in settings.working_days)
            holidays = frozenset(date.fromisoformat(day) for day in settings.holidays)
            zone = ZoneInfo(settings.timezone)
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"working hours: {exc}") from exc
        if opens >= closes:
            raise ConfigError("working hours: opening must be before closing")
        return cls(zone, days, opens, closes, holidays)

    @classmethod
    def for_branch(cls, settings: Settings, branch: str) -> WorkingHours:
        """The hours of one branch: ``branch_hours`` overrides the days and hours, holidays
        and time zone are the centre's.

        Raises:
            ConfigError: for a malformed override.
        """
        base = cls.from_settings(settings)
        for entry in settings.branch_hours:
            name, sep, spec = entry.partition("=")
            if not sep:
                raise ConfigError(f"branch hours: {entry!r} is not branch=hours")
            if name.strip() != branch:
                continue
            days_text, _, hours_text = spec.strip().rpartition(" ")
            try:
                opens_text, closes_text = hours_text.split("-")
                opens, closes = time.fromisoformat(opens_text), time.fromisoformat(closes_text)
                days = (
                    frozenset(DAYS.index(d.strip().lower()[:3]) for d in days_text.split(","))
                    if days_text
                    else base.days
                )
            except ValueError as exc:
                raise ConfigError(f"branch hours of {branch}: {exc}") from exc
            if opens >= closes:
                raise ConfigError(f"branch hours of {branch}: opening must be before closing")
            return cls(base.zone, days, opens, closes, base.holidays)
        return base

    def is_open(self, moment: datetime) -> bool:
        """Return True when the centre is open at ``moment`` (an aware datetime)."""
        local = moment.astimezone(self.zone)
        return (
            local.weekday() in self.days
            and local.date() not in self.holidays
            and self.opens <= local.time() < self.closes
        )

    def next_opening(self, moment: datetime) -> datetime:
        """Return ``moment`` if open, else when the centre next opens (aware, same zone)."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(370):
            start = datetime.combine(day, self.opens, self.zone)
            if day.weekday() in self.days and day not in self.holidays and start > local:
                return start
            day += timedelta(days=1)
        raise ConfigError("working hours: the centre never opens")
