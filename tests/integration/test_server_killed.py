"""A FastAGI server killed mid-call: the calls it served are closed by the next one, or a worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.paths import SPOOL
from ivr.simulator import message_wait
from providers.ami import AMIClient
from providers.call_control import AmiCallControl
from tawasul.config import Settings
from tawasul.models import Call, CallOutcome, Request
from tawasul.spooled_recordings import finished_wav
from tawasul.stale_calls import close_calls_without_channel
from tawasul.vault import MAGIC, vault_for
from tawasul_cli.asterisk import Harness
from tests.helpers import REPO, Database
from tests.integration.support import (
    TEST_AGI_PORT,
    TEST_AMI_PORT,
    Phone,
    WorkerProcess,
    wait_until,
    worker_env,
)
from tests.integration.test_phone_menu import CALLER
from tests.integration.test_phone_reliability import _up_to_the_message

pytestmark = pytest.mark.asterisk

# The caller chooses Arabic, then says nothing: the main menu repeats, then an agent (in hours).
MID_MENU = "w1/1/w90"
# A new request: Arabic, 1 new request, a national ID confirmed; then silence at the next question.
PARTIAL = "w1/1/w3/1/w3/1000000008/w4/1/w90"


class AgiServerProcess:
    """``tawasul agi-server`` as a real process, so that it can be killed with SIGKILL."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AgiServerProcess:
        """Start it and wait until it listens."""
        with self.log_path.open("ab") as handle:
            self.process = subprocess.Popen(
                [str(REPO / ".venv" / "bin" / "tawasul"), "agi-server"],
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        wait_until(self._listening, 60, "the FastAGI server to listen")
        return self

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"agi-server exited: {self.log_path.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", TEST_AGI_PORT), timeout=0.5).close()
        except OSError:
            return False
        return True

    def kill9(self) -> None:
        """Kill it with SIGKILL: it writes nothing more about its calls."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop it if it still runs."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def agi_env(asterisk: Harness, database: Database, settings: Settings) -> Iterator[dict[str, str]]:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    yield {
        "TAWASUL_VAR_DIR": str(settings.var_dir),
        "TAWASUL_DATABASE_URL": database.url,
        "TAWASUL_SECRET_KEY": settings.secret_key,
        "TAWASUL_AGI_HOST": "127.0.0.1",
        "TAWASUL_AGI_PORT": str(TEST_AGI_PORT),
        "TAWASUL_AMI_PORT": str(TEST_AMI_PORT),
        "TAWASUL_AMI_SECRET": asterisk.ami_secret(),
        "TAWASUL_ASTERISK_ROOT": str(asterisk.root),
        "TAWASUL_WORKING_DAYS": "mon,tue,wed,thu,fri,sat,sun",
        "TAWASUL_WORKING_HOURS": "00:00-23:59:59",
    }


def calls(database: Database, uniqueids: list[str]) -> list[Call]:
    with database.sessions() as session:
        rows = session.scalars(select(Call).where(Call.uniqueid.in_(uniqueids))).all()
        return sorted(rows, key=lambda call: uniqueids.index(call.uniqueid))


@pytest.mark.parametrize("closer", ["next_server", "worker"])
def test_calls_of_a_killed_server_are_closed(
    closer: str,
    agi_env: dict[str, str],
    asterisk: Harness,
    settings: Settings,
    database: Database,
    phone: Phone,
    ami: AMIClient,
    request: pytest.FixtureRequest,
) -> None:
    logs = settings.var_dir / "agi-server.log"
    first = AgiServerProcess(agi_env, logs).start()
    second: AgiServerProcess | None = None
    worker: WorkerProcess | None = None
    try:
        placed = [phone.call(MID_MENU) for _ in range(4)] + [phone.call(PARTIAL)]
        ids = [p.ivr_uniqueid for p in placed]
        wait_until(lambda: len(calls(database, ids)) == 5, 60, "five calls in the menu")
        # The fifth caller's partial request exists once the ID is confirmed.
        wait_until(
            lambda: calls(database, ids)[4].request_id is not None, 60, "the partial request"
        )
        first.kill9()
        killed_at = time.monotonic()
        # The callers are fine: the dialplan's failure path (apology, queue) ends their calls.
        for call in placed:
            phone.wait_hangup(call, timeout_s=60)
        rows = calls(database, ids)
        assert [(c.outcome, c.ended_at) for c in rows] == [(CallOutcome.IN_PROGRESS, None)] * 5

        if closer == "next_server":
            second = AgiServerProcess(agi_env, logs).start()
        else:
            # No server restarted: a worker's periodic pass closes them.
            redis_server = request.getfixturevalue("redis_server")
            env = worker_env(
                settings,
                redis_server.url,
                database_url=database.url,
                ami_port=str(TEST_AMI_PORT),
                ami_secret=asterisk.ami_secret(),
            )
            worker = WorkerProcess(env, logs, ami=True).start()
        wait_until(
            lambda: all(c.ended_at is not None for c in calls(database, ids)),
            60,
            f"the {closer} to close the dead server's calls",
        )
        rows = calls(database, ids)
        assert [c.outcome for c in rows] == [CallOutcome.FAILED] * 5
        for call in rows:
            assert call.ended_at is not None and call.ended_at >= call.started_at
            assert call.journey[-1]["step"] == "server_lost"
        assert time.monotonic() - killed_at < 120
        # The partial request is kept as it was.
        with database.sessions() as session:
            partial = session.get(Request, rows[4].request_id)
            assert partial is not None and partial.is_partial

        if second is None:
            return
        # A call the new server is serving now is not closed: its channel is live.
        live = phone.call("w1/1/w20/h")  # in the menu for 20 s, then hangs up
        wait_until(lambda: len(calls(database, [live.ivr_uniqueid])) == 1, 60, "a live call")
        with database.sessions() as session:
            closed = close_calls_without_channel(session, AmiCallControl(ami), grace=timedelta(0))
        assert live.ivr_uniqueid not in closed
        (still,) = calls(database, [live.ivr_uniqueid])
        assert (still.outcome, still.ended_at) == (CallOutcome.IN_PROGRESS, None)
        phone.wait_hangup(live, timeout_s=60)
    finally:
        first.stop()
        if second is not None:
            second.stop()
        if worker is not None:
            worker.stop()


@pytest.mark.parametrize("restart", ["after_the_call", "during_the_call"])
def test_a_message_being_recorded_when_the_server_dies_is_kept_encrypted_by_the_next_one(
    restart: str,
    agi_env: dict[str, str],
    asterisk: Harness,
    settings: Settings,
    database: Database,
    phone: Phone,
    ami: AMIClient,
) -> None:
    logs = settings.var_dir / "agi-server.log"
    spool = asterisk.root / SPOOL.relative_to("/")
    first = AgiServerProcess(agi_env, logs).start()
    second: AgiServerProcess | None = None
    try:
        # A new request up to its voice message; the caller talks 8 s, then hangs up.
        placed = phone.call(f"{_up_to_the_message()}/{message_wait('en', 8)}/h", caller_id=CALLER)
        wait_until(lambda: len(calls(database, [placed.ivr_uniqueid])) == 1, 60, "the call")
        (call,) = calls(database, [placed.ivr_uniqueid])
        spooled = spool / f"call-{call.id}-request.wav"
        wait_until(spooled.exists, 90, "Asterisk to record the message into its spool")
        first.kill9()  # mid-recording: the server that would encrypt or delete it is gone
        if restart == "during_the_call":
            # The next server starts while the caller still talks: nothing to close yet.
            second = AgiServerProcess(agi_env, logs).start()
        phone.wait_hangup(placed, timeout_s=60)
        time.sleep(1)
        # Asterisk finished the recording with no server to settle it: left in clear.
        in_clear = spooled.read_bytes()
        assert in_clear[:4] == b"RIFF"

        if second is None:
            second = AgiServerProcess(agi_env, logs).start()  # its start-up settles it
        else:
            # A worker's pass closes the call; the server's next pass over the spool settles it.
            with database.sessions() as session:
                close_calls_without_channel(session, AmiCallControl(ami), grace=timedelta(0))
        wait_until(lambda: not spooled.exists(), 60, "the next server to settle the spool")
        (call,) = calls(database, [placed.ivr_uniqueid])
        assert call.ended_at is not None and call.journey[-1]["step"] == "server_lost"
        assert not list(spool.glob(f"call-{call.id}-*"))
        # The partial request keeps the message, encrypted, as after any hang-up.
        with database.sessions() as session:
            request = session.get(Request, call.request_id)
            assert request is not None and request.is_partial
            assert request.voice_message_path is not None
            stored = settings.var_dir / request.voice_message_path
        assert stored.read_bytes().startswith(MAGIC)
        # The very message Asterisk recorded (the header's sizes set, as after any hang-up).
        assert vault_for(settings).read(stored) == finished_wav(in_clear)
    finally:
        first.stop()
        if second is not None:
            second.stop()
