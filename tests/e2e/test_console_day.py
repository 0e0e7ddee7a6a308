"""A working day in the console (Chromium, Arabic and English): each role lands on its own
work, whole rows and keyboard shortcuts open and claim requests, errors sit next to their
field in the user's language, the history reads in words with names, reassigning picks from
the branch's staff, and one's own phone is set in the page.

These run on the page-only console (SQLite, no Asterisk): what they check is the page.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from agent_api.services import EXTENSION
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Language, Request, RequesterCategory, User
from tawasul.pii import PiiProtector
from tawasul.workflow import RequestStatus
from tests.e2e.conftest import Console

NATIONAL_IDS = ["1000000008", "1000000016", "1000000024"]


def _file(console: Console, pii: PiiProtector, count: int, hours_apart: int = 3) -> list[int]:
    """``count`` received requests, the first the oldest (each ``hours_apart`` older)."""
    ids = []
    with console.database.sessions() as session:
        for index in range(count):
            filed = IntakeService(pii).file_request(
                session,
                NewRequest(
                    NATIONAL_IDS[index],
                    Language.AR,
                    "riyadh",
                    callback_number=f"+96650123456{index}",
                ),
            )
            filed.created_at = filed.created_at - timedelta(hours=hours_apart * (count - index))
            ids.append(filed.id)
        session.commit()
    return ids


def _set_status(console: Console, request_id: int, status: RequestStatus) -> None:
    with console.database.sessions() as session:
        found = session.get(Request, request_id)
        assert found is not None
        found.status = status
        session.commit()


def _casework(console: Console):
    return console.app.extensions[EXTENSION].casework


def _user(console: Console, name: str) -> User:
    return console.users[name]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_an_agent_lands_on_new_work_oldest_first_and_works_it_from_the_keyboard(
    page_console: Console, browser, pii: PiiProtector, language: str
) -> None:
    ids = _file(page_console, pii, 3)
    agent = page_console.page(browser, language)
    agent.sign_in("agent")
    # New work of the branch, oldest first, each with its age; not an empty "Mine".
    expect(agent.page.locator("#scope-unclaimed")).to_have_attribute("aria-pressed", "true")
    rows = agent.page.locator("#requests tbody tr[data-id]")
    expect(rows).to_have_count(3)
    assert [int(r.get_attribute("data-id")) for r in rows.all()] == ids
    oldest_age = agent.page.text_content(f"#requests tr[data-id='{ids[0]}'] td.age") or ""
    assert ("9 hours" if language == "en" else "٩ ساعات") in oldest_age

    # From the top of the page the first request is two key presses away (the skip link).
    agent.page.reload()
    expect(rows).to_have_count(3)
    agent.page.keyboard.press("Tab")
    agent.page.keyboard.press("Enter")
    assert agent.page.evaluate("document.activeElement.closest('tr').dataset.id") == str(ids[0])
    assert agent.page.url.endswith("#/work")

    # j, j, k select rows; Enter opens the selected one.
    agent.page.locator("body").press("j")
    agent.page.keyboard.press("j")
    agent.page.keyboard.press("k")
    expect(agent.page.locator(f"#requests tr[data-id='{ids[0]}']")).to_have_attribute(
        "data-selected", "true"
    )
    agent.page.keyboard.press("j")
    agent.page.keyboard.press("Enter")
    agent.page.wait_for_selector(f"#request[data-id='{ids[1]}']")

    # c claims (the claim dialog opens); Escape closes it.
    agent.page.keyboard.press("c")
    expect(agent.page.locator("#claim-form")).to_be_visible()
    agent.page.keyboard.press("Escape")
    expect(agent.page.locator("#dialog")).not_to_be_visible()

    # A whole row opens its request (a click on its status, not on the link).
    agent.page.click("#nav-work")
    agent.page.locator(f"#requests tr[data-id='{ids[2]}'] .status").click()
    agent.page.wait_for_selector(f"#request[data-id='{ids[2]}']")

    # / goes to the search box; keys typed there are text, not shortcuts; ? shows the help.
    agent.page.click("#nav-work")
    agent.page.wait_for_selector("#requests tbody tr[data-id]")
    agent.page.keyboard.press("/")
    assert agent.page.evaluate("document.activeElement.id") == "search"
    agent.page.keyboard.type("jkc")
    assert agent.page.input_value("#search") == "jkc"
    assert agent.page.locator("#requests tr[data-selected]").count() == 0
    agent.page.locator("h1").click()
    agent.page.keyboard.press("?")
    expect(agent.page.locator("#shortcuts")).to_be_visible()
    expect(agent.page.locator("#shortcuts kbd")).to_have_count(7)
    assert agent.errors == []
    agent.close()


def test_a_supervisor_lands_on_what_awaits_their_decision(
    page_console: Console, browser, pii: PiiProtector
) -> None:
    ids = _file(page_console, pii, 3)
    _set_status(page_console, ids[1], RequestStatus.IDENTITY_VERIFIED)
    supervisor = page_console.page(browser, "ar")
    supervisor.sign_in("supervisor")
    expect(supervisor.page.locator("#scope-awaiting_decision")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(supervisor.page.locator("#requests tbody tr[data-id]")).to_have_count(1)
    assert supervisor.page.get_attribute("#requests tbody tr[data-id]", "data-id") == str(ids[1])
    # A supervisor takes no calls: no queue presence, and no 422 for asking.
    expect(supervisor.page.locator("#presence")).to_be_hidden()
    assert supervisor.errors == []
    supervisor.close()


@pytest.mark.parametrize(
    ("language", "wrong", "forbidden"),
    [
        ("en", "Wrong code: 2 attempts left", "Another agent has claimed this request"),
        ("ar", "الرمز غير صحيح: بقيت محاولتان", "استلم هذا الطلب موظف آخر"),
    ],
)
def test_errors_sit_next_to_their_field_in_the_users_language(
    page_console: Console, browser, pii: PiiProtector, language: str, wrong: str, forbidden: str
) -> None:
    (request_id,) = _file(page_console, pii, 1)
    agent = page_console.page(browser, language)
    agent.page.route("**/agent/stream", lambda route: route.abort())
    agent.sign_in("agent")
    agent.page.goto(f"{page_console.url}/console/#/request/{request_id}")
    agent.page.click("#action-claim")
    agent.page.click("#claim-form button[type=submit]")
    agent.page.wait_for_selector("#request[data-status=in_review]")
    agent.page.click("#action-verify")
    agent.page.click("#send-code")
    expect(agent.page.locator("#code-status")).not_to_be_empty()
    agent.page.fill("#code", "000000")
    agent.page.click("#verify-form button[type=submit]")
    error = agent.page.locator("#code-error")
    expect(error).to_have_text(wrong)
    # Next to the field, described by it, focused, inside the dialog (above its backdrop)...
    assert agent.page.get_attribute("#code", "aria-describedby") == "code-error"
    assert agent.page.evaluate("document.activeElement.id") == "code"
    assert agent.page.evaluate("document.getElementById('code-error').closest('dialog') !== null")
    # ... and the wrong code is gone, to be typed again.
    assert agent.page.input_value("#code") == ""
    agent.page.keyboard.press("Escape")

    # Given to another agent meanwhile (this page is not told: its stream is cut), Release is
    # refused in words, next to the button.
    other = _other_agent(page_console)
    with page_console.database.sessions() as session:
        _casework(page_console).reassign(
            session, _user(page_console, "supervisor"), request_id, other.id
        )
    agent.page.click("#action-release")
    refused = agent.page.locator("#actions .form-error")
    expect(refused).to_have_text(forbidden)
    assert agent.page.get_attribute("#action-release", "aria-describedby") == refused.get_attribute(
        "id"
    )
    agent.page.reload()
    agent.page.wait_for_selector("#request[data-status=in_review]")
    # Not this agent's any more: neither release, verify nor cancel is offered.
    assert agent.page.locator("#action-release, #action-verify, #action-cancel").count() == 0
    expected = [e for e in agent.errors if not re.search("status of (422|403)|ERR_FAILED", e)]
    assert expected == []
    agent.close()


def _other_agent(console: Console) -> User:
    from tawasul.accounts import AccountService, NewUser
    from tawasul.models import Role
    from tests.e2e.conftest import PASSWORD

    with console.database.sessions() as session:
        return AccountService(console.settings.branches).create_user(
            session, NewUser("other", PASSWORD, Role.AGENT, "riyadh", None)
        )


@pytest.mark.parametrize("language", ["en", "ar"])
def test_history_reads_newest_first_in_words_with_names(
    page_console: Console, browser, pii: PiiProtector, language: str
) -> None:
    (request_id,) = _file(page_console, pii, 1)
    agent = _user(page_console, "agent")
    supervisor = _user(page_console, "supervisor")
    with page_console.database.sessions() as session:
        _casework(page_console).claim(session, agent, request_id, RequesterCategory.WOMAN)
        _casework(page_console).add_note(session, supervisor, request_id, "اتصل مرة أخرى")
    page = page_console.page(browser, language)
    page.sign_in("agent")
    page.page.goto(f"{page_console.url}/console/#/request/{request_id}")
    page.page.wait_for_selector("#history li")
    kinds = [li.get_attribute("data-kind") for li in page.page.locator("#history li").all()]
    assert kinds[0] == "note" and kinds[-1] == "created", kinds
    history = page.page.text_content("#history") or ""
    for raw in ("user:", "request_filed", "claimed", "created"):
        assert raw not in history, history
    claimed = page.page.text_content("#history li[data-kind=claimed]") or ""
    assert ("Claimed" if language == "en" else "استلم الطلب") in claimed and "agent" in claimed
    note = page.page.text_content("#notes li") or ""
    assert "supervisor" in note and "اتصل مرة أخرى" in note
    assert page.errors == []
    page.close()


def test_reassigning_chooses_from_the_branchs_staff(
    page_console: Console, browser, pii: PiiProtector
) -> None:
    (request_id,) = _file(page_console, pii, 1)
    with page_console.database.sessions() as session:
        _casework(page_console).claim(
            session, _user(page_console, "agent"), request_id, RequesterCategory.MAN
        )
    supervisor = page_console.page(browser, "en")
    supervisor.sign_in("supervisor")
    supervisor.page.goto(f"{page_console.url}/console/#/request/{request_id}")
    supervisor.page.click("#action-reassign")
    options = supervisor.page.locator("#user-id option")
    expect(options).to_have_count(2)  # "choose" and the supervisor (the agent has it)
    supervisor.page.select_option("#user-id", label="supervisor · supervisor")
    supervisor.page.click("#reassign-form button[type=submit]")
    expect(supervisor.page.locator("dd[data-field=assigned_to]")).to_have_text("supervisor")
    assert supervisor.errors == []
    supervisor.close()


def test_a_staff_member_sets_their_own_extension(page_console: Console, browser) -> None:
    agent = page_console.page(browser, "en")
    # An agent without a softphone is told where to set one.
    agent.page.route(
        "**/agent/state",
        lambda route: route.fulfill(
            json={"state": "no_extension", "takes_calls": True, "telephony": True}
        ),
    )
    agent.sign_in("agent")
    expect(agent.page.locator("#set-extension")).to_be_visible()
    expect(agent.page.locator("#presence-controls")).to_be_hidden()
    agent.page.click("#set-extension")
    agent.page.fill("#my-extension", "bad extension!")
    agent.page.click("#settings-form button[type=submit]")
    expect(agent.page.locator("#my-extension-error")).to_be_visible()
    described = agent.page.get_attribute("#my-extension", "aria-describedby") or ""
    assert described.split() == ["my-extension-hint", "my-extension-error"]
    assert agent.page.evaluate("document.activeElement.id") == "my-extension"
    agent.page.fill("#my-extension", "PJSIP/1001")
    # The database is read once the page's PATCH has been answered, not when the click returns.
    with agent.page.expect_response(
        lambda answer: answer.url.endswith("/auth/me") and answer.request.method == "PATCH"
    ) as saved:
        agent.page.click("#settings-form button[type=submit]")
    assert saved.value.status == 200
    expect(agent.page.locator("#my-extension-error")).to_have_count(0)
    with page_console.database.sessions() as session:
        found = session.get(User, _user(page_console, "agent").id)
        assert found is not None and found.extension == "PJSIP/1001"
    agent.close()


def _held_code(route) -> None:
    answer = route.fetch()
    body = answer.json()
    body["sms"] = [
        {
            "id": 1,
            "stage": "verification_code",
            "priority": "urgent",
            "status": "held",
            "due_at": "2026-11-30T08:00:00+00:00",
            "held_until": "2026-11-30T08:10:00+00:00",
            "sent_at": None,
            "parts": 1,
        }
    ]
    route.fulfill(response=answer, json=body)


@pytest.mark.parametrize(
    ("language", "held"), [("en", "held until 11:10"), ("ar", "مؤجلة حتى ١١:١٠")]
)
def test_a_held_text_message_says_until_when(
    page_console: Console, browser, pii: PiiProtector, language: str, held: str
) -> None:
    (request_id,) = _file(page_console, pii, 1)
    agent = page_console.page(browser, language)
    agent.page.route(f"**/requests/{request_id}", _held_code)
    agent.sign_in("agent")
    agent.page.goto(f"{page_console.url}/console/#/request/{request_id}")
    expect(agent.page.locator("#sms li[data-held=true] .sms-status")).to_contain_text(held)
    agent.close()


def test_the_screen_pop_files_a_phone_request_linked_to_the_call(
    page_console: Console, browser
) -> None:
    pop = {
        "id": "pop-1",
        "queue": "tawasul-riyadh",
        "at": "2026-11-30T08:00:00+00:00",
        "caller_id": "0501234567",
        "caller_id_masked": "05*****567",
        "caller_language": "en",
        "requests": [],
    }
    sent = []
    agent = page_console.page(browser, "ar")
    agent.page.route("**/agent/screen-pops/pop-1", lambda route: route.fulfill(json=pop))

    def filed(route) -> None:
        sent.append(route.request.post_data_json)
        route.fulfill(status=201, json={"id": 1})

    agent.page.route("**/requests", filed)
    agent.sign_in("agent")
    agent.page.goto(f"{page_console.url}/console/#/pop/pop-1")
    agent.page.fill("#new-national-id", "1000000008")
    # The caller's language (the IVR's call), not the agent's Arabic.
    expect(agent.page.locator("#new-language")).to_have_value("en")
    agent.page.select_option("#new-category", "company")
    agent.page.select_option("#new-meeting-mode", "video")
    agent.page.fill("#new-official", "الوكيل")
    agent.page.click("#new-request-form button[type=submit]")
    agent.page.wait_for_url("**/#/request/1")
    assert sent == [
        {
            "channel": "phone",
            "screen_pop_id": "pop-1",
            "mobile": "0501234567",
            "national_id": "1000000008",
            "language": "en",
            "category": "company",
            "meeting_mode": "video",
            "target_official": "الوكيل",
        }
    ]
    agent.close()


def test_a_supervisor_closes_an_appointment_before_its_start_only_with_a_reason(
    page_console: Console, browser, pii: PiiProtector
) -> None:
    from tawasul.appointments import AppointmentBook, NewSlot
    from tawasul.models import MeetingMode, utcnow

    (request_id,) = _file(page_console, pii, 1)
    _set_status(page_console, request_id, RequestStatus.APPROVED)
    with page_console.database.sessions() as session:
        found = session.get(Request, request_id)
        assert found is not None
        found.meeting_mode = MeetingMode.IN_PERSON
        session.commit()
        slot = AppointmentBook(page_console.settings.branches, "https://meet.test/r").open_slot(
            session,
            NewSlot("riyadh", MeetingMode.IN_PERSON, utcnow() + timedelta(days=1), 30, capacity=2),
        )
        _casework(page_console).schedule(
            session, _user(page_console, "supervisor"), request_id, slot.id
        )
    supervisor = page_console.page(browser, "en")
    supervisor.sign_in("supervisor")
    supervisor.page.goto(f"{page_console.url}/console/#/request/{request_id}")
    supervisor.page.click("#action-complete")
    expect(supervisor.page.locator("#override-form")).to_be_visible()
    expect(supervisor.page.locator("#override-reason-error")).to_contain_text(
        "The appointment has not started yet"
    )
    supervisor.page.fill("#override-reason", "The requester came a day early")
    supervisor.page.click("#override-form button[type=submit]")
    supervisor.page.wait_for_selector("#request[data-status=completed]")
    supervisor.close()
