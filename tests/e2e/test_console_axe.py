"""axe-core on every view of the console, in Arabic and in English: no serious or critical
violation (sign-in, work list, request page and its dialog, help sheet, screen-pop, own
settings, supervisor page)."""

from __future__ import annotations

from typing import Any

import pytest

from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Language
from tawasul.pii import PiiProtector
from tests.e2e.conftest import Console

POP = {
    "id": "axe-pop",
    "queue": "tawasul-riyadh",
    "at": "2026-11-30T08:00:00+00:00",
    "caller_id": "0501234567",
    "caller_id_masked": "05*****567",
    "requests": [],
}


def _screen_pop(route: Any) -> None:
    route.fulfill(json=POP)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_every_view_has_no_serious_or_critical_axe_violation(
    page_console: Console, browser, pii: PiiProtector, language: str
) -> None:
    with page_console.database.sessions() as session:
        request_id = (
            IntakeService(pii)
            .file_request(
                session,
                NewRequest("1000000008", Language.AR, "riyadh", callback_number="+966501234567"),
            )
            .id
        )
    found: dict[str, list[str]] = {}
    page = page_console.page(browser, language)
    page.page.route("**/agent/screen-pops/axe-pop", _screen_pop)
    found["sign-in"] = page.axe()
    page.sign_in("supervisor")
    page.page.click("#scope-all_branch")
    page.page.wait_for_selector(f"#requests tr[data-id='{request_id}']")
    found["work list"] = page.axe()
    page.page.goto(f"{page_console.url}/console/#/request/{request_id}")
    page.page.wait_for_selector("#history li")
    found["request"] = page.axe()
    page.page.click("#action-claim")
    page.page.wait_for_selector("#claim-form")
    found["claim dialog"] = page.axe()
    page.page.keyboard.press("Escape")
    page.page.locator("h1").click()
    page.page.keyboard.press("?")
    page.page.wait_for_selector("#shortcuts")
    found["help sheet"] = page.axe()
    page.page.keyboard.press("Escape")
    page.page.goto(f"{page_console.url}/console/#/pop/axe-pop")
    page.page.wait_for_selector("#new-request-form")
    found["screen-pop"] = page.axe()
    page.page.goto(f"{page_console.url}/console/#/settings")
    page.page.wait_for_selector("#settings-form")
    found["settings"] = page.axe()
    page.page.goto(f"{page_console.url}/console/#/supervisor")
    page.page.wait_for_selector("[data-chart=calls_per_hour]")
    page.page.wait_for_selector("#agents-table, #agents p")
    found["supervisor"] = page.axe()
    assert {view: issues for view, issues in found.items() if issues} == {}
    page.close()
