"""The console reads right in Chromium, in Arabic and in English: table rows stay rows, one
digit system and one Hijri spelling per language, Arabic plurals, "paused" is not "break", the
presence region does not chatter, the header keeps to one row at 1366 px, and the supervisor's
page says what its figures mean, counts every call by how it ended and draws charts with axes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tawasul.appointments import AppointmentBook, NewSlot
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Call, CallOutcome, Language, MeetingMode, Request, utcnow
from tawasul.pii import PiiProtector
from tawasul.workflow import RequestStatus
from tests.e2e.conftest import Console

LATIN_DIGIT = re.compile("[0-9]")


def _file(console: Console, pii: PiiProtector, national_id: str = "1000000008") -> int:
    with console.database.sessions() as session:
        return (
            IntakeService(pii)
            .file_request(
                session,
                NewRequest(national_id, Language.AR, "riyadh", callback_number="+966501234567"),
            )
            .id
        )


def _paused(route: Any) -> None:
    since = (utcnow() - timedelta(minutes=4)).isoformat()
    route.fulfill(
        json={
            "state": "paused",
            "reason": "meeting",
            "since": since,
            "takes_calls": True,
            "telephony": True,
        }
    )


@pytest.mark.parametrize("language", ["ar", "en"])
def test_table_rows_stay_rows_with_left_to_right_numbers(
    page_console: Console, browser, pii: PiiProtector, language: str
) -> None:
    _file(page_console, pii)
    _file(page_console, pii, "1000000016")
    agent = page_console.page(browser, language)
    agent.sign_in("agent")
    agent.page.wait_for_selector("#requests tbody tr[data-id]")
    broken = agent.page.evaluate(
        """() => [...document.querySelectorAll('#requests tr')].flatMap((row) => {
            const cells = [...row.cells];
            const tops = cells.map((cell) => Math.round(cell.getBoundingClientRect().top));
            const blocks = cells.filter((c) => getComputedStyle(c).display !== 'table-cell');
            return new Set(tops).size > 1 || blocks.length ? [row.outerHTML.slice(0, 120)] : [];
        })"""
    )
    assert broken == []
    inline_blocks = agent.page.evaluate(
        """() => [...document.querySelectorAll('[dir=ltr]')]
            .filter((e) => getComputedStyle(e).display === 'inline-block').length"""
    )
    assert inline_blocks == 0
    agent.close()


@pytest.mark.parametrize(
    ("language", "label"), [("en", "Paused · Meeting"), ("ar", "متوقف مؤقتاً · اجتماع")]
)
def test_a_meeting_pause_is_paused_not_break_and_is_announced_once(
    page_console: Console, browser, language: str, label: str
) -> None:
    agent = page_console.page(browser, language)
    agent.page.route("**/agent/state", _paused)
    agent.sign_in("agent")
    expect(agent.page.locator("#presence-state")).to_have_text(label)
    assert agent.page.get_attribute("#presence", "aria-live") is None
    expect(agent.page.locator("#presence-announce")).to_have_text(label)
    # The timer ticks every second; what screen readers hear does not change with it.
    agent.page.evaluate(
        """() => {
            window.announced = 0;
            new MutationObserver(() => window.announced++).observe(
                document.getElementById('presence-announce'),
                {childList: true, characterData: true, subtree: true});
            window.since = document.getElementById('presence-since').textContent;
        }"""
    )
    agent.page.wait_for_function(
        "() => document.getElementById('presence-since').textContent !== window.since"
    )
    assert agent.page.evaluate("window.announced") == 0
    # One header row at 1366 px for a paused agent.
    assert agent.page.evaluate("document.getElementById('bar').offsetHeight") < 60
    agent.close()


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_header_keeps_to_one_row_for_a_supervisor(
    page_console: Console, browser, language: str
) -> None:
    supervisor = page_console.page(browser, language)
    supervisor.sign_in("supervisor")
    assert supervisor.page.evaluate("document.getElementById('bar').offsetHeight") < 60
    supervisor.close()


def test_arabic_has_one_digit_system_and_plural_agreement(
    page_console: Console, browser, pii: PiiProtector
) -> None:
    request_id = _file(page_console, pii)
    with page_console.database.sessions() as session:
        found = session.get(Request, request_id)
        assert found is not None
        found.status = RequestStatus.APPROVED
        found.meeting_mode = MeetingMode.IN_PERSON
        session.commit()
        book = AppointmentBook(page_console.settings.branches, "https://meet.test/room")
        book.open_slot(
            session,
            NewSlot("riyadh", MeetingMode.IN_PERSON, utcnow() + timedelta(days=3), 30, capacity=2),
        )
    agent = page_console.page(browser, "ar")
    agent.sign_in("supervisor")
    agent.page.goto(f"{page_console.url}/console/#/request/{request_id}")
    created = agent.page.text_content("dd[data-field=created]") or ""
    assert "هـ" in created and not LATIN_DIGIT.search(created), created
    agent.page.click("#action-schedule")
    slot = agent.page.text_content("#slots button") or ""
    assert "مكانان متاحان" in slot, slot
    assert not LATIN_DIGIT.search(slot), slot
    agent.close()


def test_english_spells_each_hijri_month_one_way(
    page_console: Console, browser, pii: PiiProtector
) -> None:
    request_id = _file(page_console, pii)
    agent = page_console.page(browser, "en")
    agent.sign_in("agent")
    agent.page.goto(f"{page_console.url}/console/#/request/{request_id}")
    created = agent.page.text_content("dd[data-field=created]") or ""
    in_history = agent.page.text_content("#history li[data-kind=created] time") or ""
    month = re.compile(r"\d+ ([A-Za-z' -]+?) \d+ AH")
    assert month.search(created) and month.search(in_history), (created, in_history)
    assert month.search(created).group(1) == month.search(in_history).group(1)
    agent.close()


def _with_alert(route: Any) -> None:
    answer = route.fetch()
    body = answer.json()
    for item in body["items"]:
        item["alerts"] = [{"kind": "waiting_callers", "value": 5, "threshold": 3}]
    route.fulfill(response=answer, json=body)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_supervisors_page_explains_counts_and_draws_its_figures(
    page_console: Console, browser, pii: PiiProtector, language: str
) -> None:
    _file(page_console, pii)
    with page_console.database.sessions() as session:
        # A call the phone menu handled end to end: a request filed, no agent.
        now = utcnow()
        session.add(
            Call(
                uniqueid="1700000000.1",
                caller_id="0501234567",
                started_at=now - timedelta(minutes=3),
                ended_at=now - timedelta(minutes=1),
                outcome=CallOutcome.REQUEST_FILED,
            )
        )
        session.commit()
    supervisor = page_console.page(browser, language)
    supervisor.page.route("**/queues/live", _with_alert)
    supervisor.sign_in("supervisor")
    supervisor.page.click("#nav-supervisor")
    supervisor.page.wait_for_selector("#kpi-service-level")
    # What each figure means, beside it.
    for tile in ("service-level", "asa", "aht", "abandonment"):
        assert (supervisor.page.text_content(f"#kpi-{tile} .definition") or "").strip()
    # Every call counted by how it ended: the menu's own ending too.
    ending = supervisor.page.locator("#calls-by-outcome [data-ending=request_filed] .value")
    expect(ending).to_have_text("1" if language == "en" else "١")
    # Today by hour: 24 columns, with a value axis.
    hourly = supervisor.page.locator("[data-chart=requests_by_hour]")
    expect(hourly.locator("rect.column")).to_have_count(24)
    expect(hourly.locator(".y-axis span")).to_have_count(3)
    # The threshold alert, per-agent table and callbacks waiting are on the page.
    expect(supervisor.page.locator("#alerts [data-alert=waiting_callers]")).to_be_visible()
    expect(supervisor.page.locator("#agents h2")).to_be_visible()
    expect(supervisor.page.locator("#callbacks h2")).to_be_visible()
    supervisor.shot(f"supervisor-today-{language}", full_page=True)
    # The month: time runs left to right under the columns, the first day first.
    supervisor.page.click("#period-month")
    month = supervisor.page.locator("[data-chart=requests_per_day] .x-axis li")
    expect(month).to_have_count(30)
    lefts = supervisor.page.evaluate(
        """() => [...document.querySelectorAll('[data-chart=requests_per_day] .x-axis li')]
            .map((li) => li.getBoundingClientRect().left)"""
    )
    assert lefts == sorted(lefts)
    assert supervisor.errors == []
    supervisor.page.unroute_all(behavior="ignoreErrors")
    supervisor.close()
