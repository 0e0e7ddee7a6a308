"""Real Asterisk, real FastAGI server, real database: the fixtures of the integration tests.

Asterisk runs in the project's chroot (``tawasul asterisk``) as a separate test instance: its own
var directory (``var/test``) and ports, so it can run beside the demo; TAWASUL_TEST_PORT_BASE
gives a second test run its own instance. It is started once per
test session and stopped at the end if the session started it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from redis import Redis

from ivr.prompts import PromptBuilder, load_catalogue
from ivr.scripts import SCRIPTS
from ivr.server import CallRunner, FastAGIServer
from providers.ami import AMIClient
from tawasul.config import Settings
from tawasul.intake import IntakeService
from tawasul.pii import PiiProtector
from tawasul_cli.asterisk import Harness, default_cache_dir
from tawasul_cli.redis_server import RedisServer
from tests.helpers import REPO, Database
from tests.integration.support import (
    IVR,
    TEST_AGI_PORT,
    TEST_AMI_PORT,
    TEST_HTTP_PORT,
    TEST_REDIS_PORT,
    TEST_SIP_PORT,
    TEST_VAR_NAME,
    Phone,
)


@pytest.fixture(scope="session")
def asterisk() -> Iterator[Harness]:
    """The test Asterisk instance, fully booted."""
    settings = dataclasses.replace(
        Settings(),
        var_dir=REPO / "var" / TEST_VAR_NAME,
        ami_port=TEST_AMI_PORT,
        agi_port=TEST_AGI_PORT,
        sip_port=TEST_SIP_PORT,
        asterisk_http_port=TEST_HTTP_PORT,
    )
    PromptBuilder().build(load_catalogue())
    harness = Harness(settings, default_cache_dir())
    was_running = harness.running_pid() is not None
    harness.up()
    yield harness
    if not was_running:
        harness.down()


@pytest.fixture(scope="session")
def ami(asterisk: Harness) -> Iterator[AMIClient]:
    """An AMI client logged in with the generated least-privilege account."""
    settings = asterisk.settings
    client = AMIClient("127.0.0.1", settings.ami_port, settings.ami_username, asterisk.ami_secret())
    client.start()
    yield client
    client.close()


@pytest.fixture
def ivr(
    asterisk: Harness, database: Database, settings: Settings, pii: PiiProtector
) -> Iterator[IVR]:
    """A FastAGI server on the port the test Asterisk's dialplan points at."""
    settings = dataclasses.replace(
        settings,
        agi_port=TEST_AGI_PORT,
        database_url=database.url,
        asterisk_root=str(asterisk.root),
        # Open around the clock unless a test says otherwise (the out-of-hours tests do).
        working_days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        working_hours="00:00-23:59:59",
    )
    runner = CallRunner(settings, database.sessions, IntakeService(pii), SCRIPTS)
    server = FastAGIServer(("127.0.0.1", TEST_AGI_PORT), runner)
    server.start_in_thread()
    handle = IVR(server, runner, database, settings)
    yield handle
    try:
        handle.stop()
    except OSError:
        pass


@pytest.fixture
def phone(ami: AMIClient, asterisk: Harness) -> Iterator[Phone]:
    """Scripted callers, who speak their voice messages (synthesised speech)."""
    handle = Phone(ami, asterisk.root)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The test Redis (AOF on, no eviction), started once per session."""
    server = RedisServer(REPO / "var" / TEST_VAR_NAME / "redis", TEST_REDIS_PORT)
    server.up()
    yield server
    server.down()


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    """A client of the test Redis, flushed before and after the test."""
    redis_server.up()  # a test may have stopped it
    client = redis_server.client()
    client.flushall()
    yield client
    if redis_server.running():
        client.flushall()
