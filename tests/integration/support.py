"""Scripted callers and waiting helpers for the real-Asterisk tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.server import CallRunner, FastAGIServer
from ivr.simulator import PlacedCall, Simulator
from providers.ami import AMIActionError, AMIClient
from tawasul.config import Settings
from tawasul.models import Call
from tests.helpers import REPO, Database

# Several test runs can share a machine (developers working side by side): each picks its own
# port base and gets its own Asterisk instance, FastAGI port and var directory.
# Under pytest-xdist each worker (gw0, gw1...) gets the next hundred ports.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
TEST_PORT_BASE = int(os.environ.get("TAWASUL_TEST_PORT_BASE", str(15000 + 100 * _WORKER)))
TEST_AMI_PORT = TEST_PORT_BASE + 38
TEST_AGI_PORT = TEST_PORT_BASE + 73
TEST_REDIS_PORT = TEST_PORT_BASE + 79
TEST_SIP_PORT = TEST_PORT_BASE + 60
TEST_HTTP_PORT = TEST_PORT_BASE + 88
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
    """Scripted callers that fail the test when a call does not end in time, and that end
    with their test: a caller a test left waiting (in a queue, say) would otherwise be the
    first in line in the next test of the same Asterisk."""

    def __init__(self, ami: AMIClient, asterisk_root: Path | None = None) -> None:
        super().__init__(ami, asterisk_root)
        self._ami = ami
        self._placed: list[PlacedCall] = []

    def call_into(
        self,
        destination: str,
        script: str,
        variables: dict[str, str],
        caller_id: str = "0501234567",
    ) -> PlacedCall:
        """Place the call and remember it, to hang it up at the end of the test."""
        placed = super().call_into(destination, script, variables, caller_id)
        self._placed.append(placed)
        return placed

    def close(self) -> None:
        """Hang up every call of the test still up, wait for them to end, stop listening."""
        for placed in self._placed:
            if not self.wait_ended(placed, 0):
                with contextlib.suppress(AMIActionError):  # ended meanwhile
                    self._ami.action("Hangup", {"Channel": placed.caller_uniqueid})
        for placed in self._placed:
            self.wait_ended(placed, 5)
        super().close()

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


class WorkerProcess:
    """``tawasul worker`` as a real process, configured through its environment."""

    def __init__(self, env: dict[str, str], log_path: Path, ami: bool = False) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.arguments = [] if ami else ["--no-ami"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        """Start it (a previous one must be gone)."""
        handle = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "tawasul"), "worker", *self.arguments],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,  # its own group: RQ's scheduler child goes with it
        )
        return self

    def kill9(self) -> None:
        """Kill it and its children (RQ's scheduler) with SIGKILL: no clean-up of any kind."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop it politely (RQ finishes the job in hand), then firmly, children included."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        # Nothing of it may outlive the test: the next test reuses the same databases.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


def worker_env(settings: Settings, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment for a worker using the test's database, key and var directory."""
    env = {
        "TAWASUL_VAR_DIR": str(settings.var_dir),
        "TAWASUL_DATABASE_URL": settings.resolved_database_url(),
        "TAWASUL_SECRET_KEY": settings.secret_key,
        "TAWASUL_REDIS_URL": redis_url,
        "TAWASUL_JOB_RETRY_INTERVALS": "1,1,2",
        "TAWASUL_WORKER_HEARTBEAT_S": "3",
        "TAWASUL_RELAY_INTERVAL_MS": "50",
        "TAWASUL_WORKING_DAYS": "mon,tue,wed,thu,fri,sat,sun",
        "TAWASUL_WORKING_HOURS": "00:00-23:59:59",
    }
    env.update({f"TAWASUL_{key.upper()}": value for key, value in extra.items()})
    return env
