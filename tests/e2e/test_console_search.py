"""The console's search box in real Chromium: last digits of any script, a whole mobile in
every way it is written or pasted, a whole national ID, and a reference number each find the
request, in Arabic and in English; a whole number never travels in a URL."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Language
from tawasul.pii import PiiProtector
from tests.e2e.conftest import Console

pytestmark = pytest.mark.asterisk

NATIONAL_ID = "1000000008"
OTHER_NATIONAL_ID = "1000000016"

LAST_DIGITS = ["٤٥٦٧", "۴۵۶۷", "4567", "٥٦٧"]
"""The last digits of the callback number: Arabic-Indic, Persian, ASCII, three of them."""
WHOLE_NUMBERS = [
    "0551234567",
    "+966551234567",
    "00966551234567",
    "055 123 4567",
    "+966-55-123-4567",
    "\u200e+966 55 123 4567\u200e",
    "٠٥٥١٢٣٤٥٦٧",
    NATIONAL_ID,
    "1000 000 008",
    "١٠٠٠٠٠٠٠٠٨",
]
"""A whole mobile as typed and as pasted (spaces, dashes, direction marks, Arabic digits), and
a whole national ID."""


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_search_box_finds_a_request_by_any_way_its_numbers_are_written(
    console_app: Console, browser, pii: PiiProtector, language: str
) -> None:
    with console_app.database.sessions() as session:
        intake = IntakeService(pii)
        wanted = intake.file_request(
            session,
            NewRequest(NATIONAL_ID, Language.AR, "riyadh", callback_number="+966551234567"),
        ).reference_number
        other = intake.file_request(
            session,
            NewRequest(OTHER_NATIONAL_ID, Language.AR, "riyadh", callback_number="+966501110000"),
        ).reference_number
    agent = console_app.page(browser, language)
    agent.sign_in("agent")
    agent.page.click("#scope-all_branch")
    references = agent.page.locator("#requests tbody a.reference")
    expect(references).to_have_count(2)
    urls: list[str] = []
    agent.page.on("request", lambda sent: urls.append(sent.url))

    def search(typed: str, found: str) -> None:
        agent.page.fill("#search", typed)
        with agent.page.expect_response(
            lambda answer: answer.url.split("?")[0].endswith(("/requests", "/requests/search"))
        ) as answered:
            agent.page.click("form.filters button[type=submit]")
        assert answered.value.status == 200, (typed, answered.value.url)
        expect(references).to_have_text([found])

    for typed in [*LAST_DIGITS, *WHOLE_NUMBERS, wanted]:
        # The other request first, so a search that fails cannot leave the right list behind.
        search(other, other)
        search(typed, wanted)
    # The counts came with the search's answer: one request, received.
    expect(agent.page.locator(".count[data-status=received] .value")).to_have_text(
        "١" if language == "ar" else "1"
    )
    if language == "ar":
        agent.page.fill("#search", "٠٥٥ ١٢٣ ٤٥٦٧")
        agent.page.click("form.filters button[type=submit]")
        expect(references).to_have_text([wanted])
        agent.shot("search-whole-mobile-ar")

    # A whole number went in a body, never in an address a proxy or access log keeps.
    for url in urls:
        assert "551234567" not in url and "1000000008" not in url, url
        assert "%D9%A5%D9%A5%D9%A1" not in url, url  # "٥٥١", URL-encoded
    assert agent.errors == []
    agent.close()
