"""Working hours around midnight, across dated overrides (Ramadan) and Gregorian and Hijri
holidays; the callback placer follows its branch's hours."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hijridate import Hijri

from tawasul.config import Settings, load_settings
from tawasul.errors import ConfigError
from tawasul.hours import DateRule, WorkingHours

RIYADH = ZoneInfo("Asia/Riyadh")
EVERY_DAY = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def hours(branch: str | None = None, **changes) -> WorkingHours:
    settings = dataclasses.replace(Settings(), **changes)
    if branch is None:
        return WorkingHours.from_settings(settings)
    return WorkingHours.for_branch(settings, branch)


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=RIYADH)


# 2026-03-01 is a Sunday; 2026-03-05 a Thursday, 2026-03-06 a Friday.


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (at("2026-03-01", "20:59:59"), False),
        (at("2026-03-01", "21:00"), True),
        (at("2026-03-01", "23:59:59"), True),
        (at("2026-03-02", "00:00"), True),
        (at("2026-03-02", "01:59:59"), True),
        (at("2026-03-02", "02:00"), False),
        # Thursday's shift runs into Friday morning, though Friday is no working day.
        (at("2026-03-06", "01:30"), True),
        (at("2026-03-06", "21:30"), False),
        # Sunday morning's early hours belong to Saturday's shift, and Saturday is closed.
        (at("2026-03-01", "01:00"), False),
    ],
)
def test_a_shift_past_midnight_belongs_to_the_day_it_starts(moment, open_):
    assert hours(working_hours="21:00-02:00").is_open(moment) is open_


def test_the_next_opening_of_an_overnight_centre():
    overnight = hours(working_hours="21:00-02:00")
    assert overnight.next_opening(at("2026-03-02", "02:00")) == at("2026-03-02", "21:00")
    # Thursday night's shift ends on Friday at 02:00; the next is Sunday evening.
    assert overnight.next_opening(at("2026-03-06", "02:00")) == at("2026-03-08", "21:00")
    inside = at("2026-03-03", "00:30")
    assert overnight.next_opening(inside) == inside


@pytest.mark.parametrize(
    ("spec", "last_open", "first_closed"),
    [
        ("20:00-00:00", "23:59:59", "00:00"),
        ("08:00-24:00", "23:59:59", "00:00"),
        ("00:00-24:00", "23:59:59", None),
    ],
)
def test_ranges_ending_at_midnight(spec, last_open, first_closed):
    centre = hours(working_hours=spec, working_days=("mon", "tue"))
    assert centre.is_open(at("2026-03-02", last_open))
    if first_closed is not None:
        assert not centre.is_open(at("2026-03-04", first_closed))
        assert not centre.is_open(at("2026-03-03", "07:59"))
    else:
        assert centre.is_open(at("2026-03-03", "12:00"))
        assert not centre.is_open(at("2026-03-04", "00:00"))


def test_split_shifts():
    split = hours(working_hours="09:00-12:00, 16:00-22:00")
    assert split.is_open(at("2026-03-01", "11:59"))
    assert not split.is_open(at("2026-03-01", "12:00"))
    assert split.next_opening(at("2026-03-01", "12:30")) == at("2026-03-01", "16:00")


@pytest.mark.parametrize(
    "spec",
    [
        "16:00-08:00x",
        "25:00-02:00",
        "08:00-08:00",
        "24:00-02:00",
        "08:60-10:00",
        "8-16",
        "09:00-13:00,12:00-15:00",
        "20:00-10:00,09:00-11:00",
        "",
    ],
)
def test_malformed_hours_are_refused_at_start_up(spec):
    with pytest.raises(ConfigError, match="working hours"):
        hours(working_hours=spec)


# -- overrides -----------------------------------------------------------------------------

RAMADAN_1447 = "hijri 1447-09-01..1447-09-30 = 20:00-02:00"  # 2026-02-18 .. 2026-03-19
EVERY_RAMADAN = "hijri 09-01..09-30 = 20:00-02:00"


@pytest.mark.parametrize(
    "override", [RAMADAN_1447, EVERY_RAMADAN, "2026-02-18..2026-03-19=20:00-02:00"]
)
def test_ramadan_hours_replace_the_ordinary_day(override):
    centre = hours(hours_overrides=(override,))
    assert Hijri(1447, 9, 1).to_gregorian().isoformat() == "2026-02-18"
    assert not centre.is_open(at("2026-03-02", "10:00"))  # the ordinary hours do not apply
    assert centre.is_open(at("2026-03-02", "23:00"))
    assert centre.is_open(at("2026-03-03", "01:30"))
    # The day before Ramadan: ordinary hours; its first night: Ramadan's.
    assert centre.is_open(at("2026-02-17", "10:00"))
    assert not centre.is_open(at("2026-02-17", "21:00"))
    assert centre.next_opening(at("2026-02-17", "16:00")) == at("2026-02-18", "20:00")
    # The last night runs past midnight into the first ordinary day.
    assert centre.is_open(at("2026-03-20", "01:00")) is (at("2026-03-19", "12:00").weekday() != 4)


def test_every_ramadan_comes_back_with_the_hijri_calendar():
    centre = hours(hours_overrides=(EVERY_RAMADAN,))
    first_1448 = datetime.combine(Hijri(1448, 9, 1).to_gregorian(), datetime.min.time(), RIYADH)
    evening = first_1448 + timedelta(hours=22)
    assert centre.is_open(evening) is (evening.weekday() in (6, 0, 1, 2, 3))
    assert not centre.is_open(first_1448 - timedelta(days=1) + timedelta(hours=22))


def test_a_branch_override_wins_over_the_centres_and_only_for_that_branch():
    settings = {
        "hours_overrides": (
            "jeddah: hijri 09-01..09-30 = sun,mon,tue,wed,thu,sat 21:00-03:00",
            EVERY_RAMADAN,
        ),
    }
    jeddah = hours("jeddah", **settings)
    riyadh = hours("riyadh", **settings)
    saturday = at("2026-03-07", "22:00")
    assert jeddah.is_open(saturday) and not riyadh.is_open(saturday)
    assert jeddah.is_open(at("2026-03-03", "02:30"))
    assert not riyadh.is_open(at("2026-03-03", "02:30"))
    assert not jeddah.is_open(at("2026-03-02", "20:30")) and riyadh.is_open(
        at("2026-03-02", "20:30")
    )


def test_an_override_can_close_a_period():
    centre = hours(hours_overrides=("2026-03-01..2026-03-03 = closed",))
    assert not centre.is_open(at("2026-03-02", "10:00"))
    assert centre.next_opening(at("2026-03-01", "09:00")) == at("2026-03-04", "08:00")


@pytest.mark.parametrize(
    "entry",
    [
        "hijri 1447-09-01 20:00-02:00",
        "dammam: 2026-03-01 = 10:00-12:00",
        "2026-13-01 = 10:00-12:00",
        "hijri 1447-09-31 = 10:00-12:00",
        "2026-03-05..2026-03-01 = closed",
        "03-01..2026-03-05 = closed",
        "2026-03-01 = fry 10:00-12:00",
        "2026-03-01 = closed 10:00-12:00",
    ],
)
def test_malformed_overrides_are_refused_at_start_up(entry):
    with pytest.raises(ConfigError, match="hours overrides"):
        hours(hours_overrides=(entry,))


# -- holidays ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "holiday",
    [
        "2026-03-02",
        "03-02",  # every year
        "2026-03-01..2026-03-02",
        "hijri 1447-09-13",
        "hijri 09-13",  # 13 Ramadan, every year
        "hijri 1447-09-11..1447-09-13",
    ],
)
def test_a_holiday_in_either_calendar_closes_the_day(holiday):
    centre = hours(holidays=(holiday,))
    assert not centre.is_open(at("2026-03-02", "10:00"))
    assert centre.is_open(at("2026-03-03", "10:00"))
    assert centre.next_opening(at("2026-03-02", "10:00")) == at("2026-03-03", "08:00")


def test_eid_every_year_follows_the_moon():
    eid = hours(holidays=("hijri 10-01..10-04",))
    for year in (1447, 1448, 1449):
        first = Hijri(year, 10, 1).to_gregorian()
        for day in range(4):
            moment = datetime.combine(first + timedelta(days=day), datetime.min.time(), RIYADH)
            assert not eid.is_open(moment + timedelta(hours=10))


def test_an_overnight_shift_started_before_a_holiday_ends_as_planned():
    centre = hours(working_hours="21:00-02:00", working_days=EVERY_DAY, holidays=("2026-03-02",))
    assert centre.is_open(at("2026-03-02", "01:00"))  # Sunday night's shift
    assert not centre.is_open(at("2026-03-02", "21:30"))  # none starts on the holiday
    assert centre.is_open(at("2026-03-03", "01:00")) is False
    assert centre.next_opening(at("2026-03-02", "02:00")) == at("2026-03-03", "21:00")


def test_year_end_wraps_for_a_yearly_range():
    rule = DateRule.parse("12-30..01-02")
    assert rule.matches(datetime(2026, 12, 31).date()) and rule.matches(datetime(2027, 1, 2).date())
    assert not rule.matches(datetime(2027, 1, 3).date())


def test_a_hijri_rule_outside_the_calendars_table_does_not_match():
    assert not DateRule.parse("hijri 09-01..09-30").matches(datetime(2100, 1, 1).date())


def test_hours_overrides_are_read_from_the_file(tmp_path):
    path = tmp_path / "tawasul.toml"
    path.write_text(
        'working_hours = "21:00-02:00"\n'
        'holidays = ["hijri 10-01..10-04", "09-23"]\n'
        'hours_overrides = ["medina: hijri 09-01..09-30 = 20:00-00:00"]\n',
        encoding="utf-8",
    )
    settings = load_settings(path, environ={})
    medina = WorkingHours.for_branch(settings, "medina")
    assert medina.is_open(at("2026-03-02", "23:00"))
    assert not medina.is_open(at("2026-03-03", "00:30"))
    assert WorkingHours.for_branch(settings, "riyadh").is_open(at("2026-03-03", "00:30"))
    assert not medina.is_open(at("2026-09-23", "22:00"))
    now = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)  # 00:00 in Riyadh
    assert WorkingHours.from_settings(settings).is_open(now)


@pytest.mark.parametrize(
    "entry", ["jeddah 09:00-17:00", "dammam=09:00-17:00", "jeddah=fry 09:00-17:00", "medina=9-5"]
)
def test_every_branchs_hours_are_checked_when_the_centres_are_read(entry):
    with pytest.raises(ConfigError, match="branch hours"):
        hours(branch_hours=(entry,))


def test_the_readme_example_is_valid(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("#### Dates, working hours")[1].split("```toml\n")[1].split("```")[0]
    path = tmp_path / "tawasul.toml"
    path.write_text(example, encoding="utf-8")
    settings = load_settings(path, environ={})
    jeddah = WorkingHours.for_branch(settings, "jeddah")
    assert jeddah.is_open(at("2026-03-07", "22:00"))  # a Saturday night in Ramadan 1447
    assert not WorkingHours.for_branch(settings, "riyadh").is_open(at("2026-12-24", "10:00"))
    assert not jeddah.is_open(at("2026-09-23", "10:00"))


def test_the_holidays_setting_documents_every_form_the_hours_read():
    import ast
    import inspect
    import re

    import tawasul.config

    body = ast.parse(inspect.getsource(tawasul.config)).body
    (settings_class,) = [node for node in body if getattr(node, "name", "") == "Settings"]
    statements = settings_class.body
    (index,) = [
        i
        for i, node in enumerate(statements)
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "holidays"
    ]
    docstring = statements[index + 1].value.value
    examples = [DateRule.parse(text) for text in re.findall(r'"([^"]+)"', docstring)]
    # Gregorian and Hijri, once and every year, a day and a range: each written down.
    forms = {(rule.hijri, rule.first[0] == 0, rule.first != rule.last) for rule in examples}
    assert {(False, False, False), (False, True, False), (True, False, False)} <= forms
    assert {(True, True, True), (False, False, True)} <= forms
