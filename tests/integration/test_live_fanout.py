"""Two API processes (``tawasul api``) on one database and one Redis serve the same consoles:
a change made through one, and an Asterisk event both hear, reach a stream opened on the other
once, through Redis pub/sub, and a screen-pop opens on either."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from agent_api.live_bus import CHANNEL
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Language, Role
from tawasul.pii import PiiProtector
from tests.api.support import PASSWORD, valid_national_id
from tests.helpers import REPO, Database
from tests.integration.support import TEST_PORT_BASE, TEST_REDIS_PORT

API_PORTS = (TEST_PORT_BASE + 90, TEST_PORT_BASE + 91)
AMI_PORT = TEST_PORT_BASE + 92
EXTENSION = "PJSIP/1001"


class FakeManager:
    """An Asterisk manager interface on loopback: logs every client in, then pushes events."""

    def __init__(self, port: int) -> None:
        self._server = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            connection.sendall(b"Asterisk Call Manager/9.0.0\r\n")
            buffer = b""
            while True:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                buffer += chunk
                while b"\r\n\r\n" in buffer:
                    block, buffer = buffer.split(b"\r\n\r\n", 1)
                    headers = dict(
                        line.split(": ", 1) for line in block.decode().split("\r\n") if ": " in line
                    )
                    action_id = headers.get("ActionID", "")
                    answer = f"Response: Success\r\nActionID: {action_id}\r\n\r\n"
                    connection.sendall(answer.encode())
                    if headers.get("Action") == "Login":
                        connection.sendall(b"Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
                        with self._lock:
                            self._clients.append(connection)

    def clients(self) -> int:
        """How many clients are logged in."""
        with self._lock:
            return len(self._clients)

    def event(self, **headers: str) -> None:
        """Send one event to every client, as Asterisk does."""
        frame = "".join(f"{key}: {value}\r\n" for key, value in headers.items()) + "\r\n"
        with self._lock:
            for client in self._clients:
                client.sendall(frame.encode())

    def close(self) -> None:
        """Stop listening and drop every client."""
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._server.close()
        with self._lock:
            for client in self._clients:
                with contextlib.suppress(OSError):
                    client.close()


class Stream:
    """An open ``/agent/stream``, its events collected on a thread."""

    def __init__(self, port: int, token: str) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/agent/stream",
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        )
        self._answer = urllib.request.urlopen(request, timeout=30)  # noqa: S310 (loopback)
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name = ""
        # Whatever ends the stream (the server, or close() below) ends the reading.
        with contextlib.suppress(Exception):
            for raw in self._answer:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.events.put((name, json.loads(line.removeprefix("data: "))))

    def next(self, wanted: str, timeout_s: float = 15.0) -> dict[str, Any]:
        """The data of the next event named ``wanted``."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {wanted} event within {timeout_s} s")
            try:
                name, data = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if name == wanted:
                return data

    def drain(self, wait_s: float) -> list[tuple[str, dict[str, Any]]]:
        """Every event that arrives within ``wait_s``."""
        time.sleep(wait_s)
        found = []
        while not self.events.empty():
            found.append(self.events.get_nowait())
        return found

    def close(self) -> None:
        """Hang up (the socket first: the reading thread holds the response's lock)."""
        with contextlib.suppress(OSError, AttributeError):
            self._answer.fp.raw._sock.shutdown(socket.SHUT_RDWR)  # noqa: SLF001


def _call(port: int, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 (loopback)
        return json.loads(answer.read() or b"null")


def _wait_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"tawasul api on {port} exited"
        try:
            _call(port, "GET", "/health")
            return
        except urllib.error.HTTPError:
            return  # it answers (503 while a dependency is still coming)
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"tawasul api on {port} did not answer")


@pytest.fixture
def manager() -> Iterator[FakeManager]:
    found = FakeManager(AMI_PORT)
    yield found
    found.close()


@pytest.fixture
def api_processes(
    database: Database, settings: Settings, redis: Redis, manager: FakeManager, tmp_path: Path
) -> Iterator[tuple[int, int]]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TAWASUL_VAR_DIR": str(settings.var_dir),
        "TAWASUL_DATABASE_URL": database.url,
        "TAWASUL_SECRET_KEY": settings.secret_key,
        "TAWASUL_REDIS_URL": f"redis://127.0.0.1:{TEST_REDIS_PORT}/0",
        "TAWASUL_AMI_PORT": str(AMI_PORT),
        "TAWASUL_AMI_SECRET": "fake",
    }
    processes = []
    for port in API_PORTS:
        log = (tmp_path / f"api-{port}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tawasul_cli.main", "api"],
                env={**env, "TAWASUL_API_PORT": str(port)},
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a server's workers end with it
            )
        )
    try:
        for port, process in zip(API_PORTS, processes, strict=True):
            _wait_up(port, process)
        deadline = time.monotonic() + 15
        while manager.clients() < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        # One AMI connection per API process at least (gunicorn: one per worker process).
        assert manager.clients() >= 2
        yield API_PORTS
    finally:
        # Every process of each server, workers included: one left running would keep the
        # audit trail's lease in Redis for the next test.
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def test_a_change_through_one_api_process_reaches_a_stream_on_the_other(
    database: Database, pii: PiiProtector, redis: Redis, api_processes: tuple[int, int]
) -> None:
    first, second = api_processes
    with database.sessions() as session:
        AccountService(("riyadh", "jeddah", "medina")).create_user(
            session, NewUser("agent1", PASSWORD, Role.AGENT, "riyadh", EXTENSION)
        )
        filed = IntakeService(pii).file_request(
            session,
            NewRequest(valid_national_id(), Language.AR, "riyadh", callback_number="+966501234567"),
        )
        request_id = filed.id
    token = _call(first, "POST", "/auth/token", body={"username": "agent1", "password": PASSWORD})[
        "token"
    ]
    carried = redis.pubsub(ignore_subscribe_messages=True)
    carried.subscribe(CHANNEL)
    on_first = Stream(first, token)
    on_second = Stream(second, token)
    try:
        on_first.next("hello")
        on_second.next("hello")
        time.sleep(1.5)  # the audit trail's reader has read where it stands

        _call(first, "POST", f"/requests/{request_id}/claim", token, {"category": "man"})

        changed = on_second.next("request_changed")
        assert changed == {"request_id": request_id, "kind": "claimed", "status": "in_review"}
        assert on_first.next("request_changed") == changed
        # It went through Redis, and once: one process read the audit trail for both.
        envelopes = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            message = carried.get_message(timeout=0.2)
            if message is not None:
                envelopes.append(json.loads(message["data"]))
        claimed = [e for e in envelopes if e["event"] == "request_changed"]
        assert [e["data"] for e in claimed] == [changed]
        rest = [e for e in on_second.drain(0.5) if e[0] == "request_changed"]
        assert rest == []
    finally:
        on_first.close()
        on_second.close()
        carried.close()


def test_an_asterisk_event_both_hear_pops_once_and_opens_on_either_process(
    database: Database, pii: PiiProtector, manager: FakeManager, api_processes: tuple[int, int]
) -> None:
    first, second = api_processes
    with database.sessions() as session:
        AccountService(("riyadh", "jeddah", "medina")).create_user(
            session, NewUser("agent2", PASSWORD, Role.AGENT, "riyadh", EXTENSION)
        )
        IntakeService(pii).file_request(
            session,
            NewRequest(valid_national_id(), Language.AR, "riyadh", callback_number="+966501234567"),
        )
    token = _call(first, "POST", "/auth/token", body={"username": "agent2", "password": PASSWORD})[
        "token"
    ]
    on_second = Stream(second, token)
    try:
        on_second.next("hello")
        manager.event(
            Event="AgentConnect",
            Queue="tawasul-riyadh",
            Interface=EXTENSION,
            CallerIDNum="0501234567",
            Uniqueid="1732761234.77",
        )
        pop = on_second.next("screen_pop")
        later = on_second.drain(1.0)
        assert [name for name, _ in later].count("screen_pop") == 0  # one pop, not one each
        # The agent's browser may ask either process for it.
        for port in (first, second):
            opened = _call(port, "GET", f"/agent/screen-pops/{pop['pop_id']}", token)
            assert opened["caller_id"] == "0501234567"
            assert len(opened["requests"]) == 1
    finally:
        on_second.close()
