"""Browser tests: the console served on loopback, driven in Debian's Chromium by Playwright.

The real-Asterisk fixtures (a session Asterisk, the FastAGI server on the test database,
scripted callers) are the integration tests' own, imported here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from agent_api import create_app
from providers.ami import AMIActionError, AMIClient
from providers.call_control import AmiCallControl
from providers.queue_members import AmiQueueMembership
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.migrate import upgrade
from tawasul.models import Role, User
from tests.helpers import REPO, Database
from tests.integration import conftest as integration
from tests.integration.support import TEST_PORT_BASE

# The integration tests' real-Asterisk fixtures, offered to the browser tests too.
asterisk = integration.asterisk
ami = integration.ami
ivr = integration.ivr
phone = integration.phone

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONSOLE_PORT = TEST_PORT_BASE + 81
PASSWORD = "a long enough password"
SCREENSHOTS = REPO / "var" / "e2e-screenshots"
AGENT_INTERFACE = "Local/3001@tawasul-queue-agents/n"
SUPERVISOR_INTERFACE = "Local/3002@tawasul-queue-agents/n"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core, installed by scripts/setup-system.sh (npm ci in tests/e2e)."""


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    """The one Playwright of the test process: its sync API refuses a second one started
    while the first runs (the console's browser and the phone's share it)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup-system.sh installs it)")
    with playwright_sync.sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    """Debian's Chromium (never Playwright's own download), headless."""
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@dataclass
class Console:
    """The app served on loopback, its database, and the accounts made for the test."""

    url: str
    app: Flask
    database: Database
    settings: Settings
    users: dict[str, User]

    def page(self, browser: Any, language: str = "ar", width: int = 1366) -> Page:
        """A fresh browser context at 1366x768, console errors collected."""
        context = browser.new_context(viewport={"width": width, "height": 768}, locale="ar-SA")
        context.add_init_script(f"localStorage.setItem('tawasul.language', '{language}')")
        page = context.new_page()
        page.set_default_timeout(15_000)
        handle = Page(page, [])
        page.on(
            "console",
            lambda message: handle.errors.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: handle.errors.append(str(error)))
        page.goto(f"{self.url}/console/")
        return handle


@dataclass
class Page:
    """A console tab and the errors its console showed."""

    page: Any
    errors: list[str]

    def sign_in(self, username: str) -> None:
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("#sign-in button[type=submit]")
        self.page.wait_for_selector("#requests")

    def shot(self, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        self.page.context.close()

    def axe(self) -> list[str]:
        """axe-core's serious and critical violations on the page as it is now.

        The script is served from the console's own origin (the page's CSP allows no inline
        script), so the check runs under the same policy as the console.
        """
        if not AXE.exists():
            pytest.fail(f"{AXE} is missing: run scripts/setup-system.sh (npm ci in tests/e2e)")
        self.page.route("**/console/axe.min.js", lambda route: route.fulfill(path=str(AXE)))
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(url="/console/axe.min.js")
        found = self.page.evaluate(
            """async () => {
                const result = await axe.run(document, {resultTypes: ['violations']});
                return result.violations
                    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
            }"""
        )
        return list(found)


def _accounts(database: Database, settings: Settings) -> dict[str, User]:
    accounts = AccountService(settings.branches)
    users = {}
    with database.sessions() as session:
        for username, role, extension in (
            ("agent", Role.AGENT, AGENT_INTERFACE),
            ("supervisor", Role.SUPERVISOR, SUPERVISOR_INTERFACE),
        ):
            users[username] = accounts.create_user(
                session, NewUser(username, PASSWORD, role, "riyadh", extension)
            )
    return users


@contextlib.contextmanager
def _served(app: Flask) -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", CONSOLE_PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{CONSOLE_PORT}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def console_app(
    database: Database, settings: Settings, asterisk: Any, ami: AMIClient
) -> Iterator[Console]:
    """The agent API with its console on 127.0.0.1, wired to the test Asterisk through AMI."""
    settings = dataclasses.replace(settings, database_url=database.url)
    app = create_app(
        settings,
        sessions=database.sessions,
        ami=ami,
        call_control=AmiCallControl(ami),
        queue_membership=AmiQueueMembership(ami),
        test_config={"TAWASUL_STREAM_MAX_S": 60},
    )
    users = _accounts(database, settings)
    with _served(app) as url:
        yield Console(url, app, database, settings, users)
    for interface in (AGENT_INTERFACE, SUPERVISOR_INTERFACE):
        with contextlib.suppress(AMIActionError):  # not a member: nothing to clean up
            ami.action("QueueRemove", {"Queue": "tawasul-riyadh", "Interface": interface})


@pytest.fixture
def page_console(tmp_path: Path, settings: Settings) -> Iterator[Console]:
    """The console alone, for what the page does with the API's answers: SQLite, no Asterisk
    (the API says telephony is unavailable, as it does when AMI is down)."""
    url = f"sqlite:///{tmp_path / 'console.db'}"
    engine = make_engine(url)
    upgrade(engine)
    database = Database(url, engine, make_session_factory(engine))
    settings = dataclasses.replace(settings, database_url=url)
    app = create_app(settings, sessions=database.sessions, test_config={"TAWASUL_STREAM_MAX_S": 60})
    users = _accounts(database, settings)
    with _served(app) as served:
        yield Console(served, app, database, settings, users)
    engine.dispose()
