"""Scripted callers and waiting helpers for the real-Asterisk tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from ivr.server import CallRunner, FastAGIServer
from ivr.simulator import PlacedCall, Simulator
from tawasul.config import Settings
from tawasul.models import Call
from tests.helpers import Database

# Several test runs can share a machine (developers working side by side): each picks its own
# port base and gets its own Asterisk instance, FastAGI port and var directory.
TEST_PORT_BASE = int(os.environ.get("TAWASUL_TEST_PORT_BASE", "15000"))
TEST_AMI_PORT = TEST_PORT_BASE + 38
TEST_AGI_PORT = TEST_PORT_BASE + 73
TEST_REDIS_PORT = TEST_PORT_BASE + 79
TEST_VAR_NAME = "test" if TEST_PORT_BASE == 15000 else f"test-{TEST_PORT_BASE}"


@dataclass
class IVR:
    """The FastAGI server for one test, wired to that test's database."""

    server: FastAGIServer
    runner: CallRunner
    database: Database
    settings: Settings

    def stop(self) -> None:
        """Stop serving and free the port (Asterisk then gets "connection refused")."""
        self.server.shutdown()
        self.server.server_close()


class Phone(Simulator):
    """Scripted callers that fail the test when a call does not end in time."""

    def wait_hangup(self, placed: PlacedCall, timeout_s: float = 90) -> None:
        """Wait until the IVR side of the call has hung up."""
        if not self.wait_ended(placed, timeout_s):
            pytest.fail(f"call {placed.ivr_uniqueid} did not end in {timeout_s}s")


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll ``condition`` until true; fail the test with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.1)


def finished_call(database: Database, uniqueid: str, timeout_s: float = 15) -> Call:
    """Wait until the server has recorded the end of the call, then return its row."""

    def ended() -> Call | None:
        with database.sessions() as session:
            call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
            return call if call is not None and call.ended_at is not None else None

    wait_until(ended, timeout_s, f"call {uniqueid} to be recorded as ended")
    result = ended()
    assert result is not None
    return result
