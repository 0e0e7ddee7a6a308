"""``tawasul agi-server --processes N``: several FastAGI processes on one port, supervised."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tawasul.config import Settings
from tests.helpers import REPO, Database
from tests.integration.support import TEST_PORT_BASE, wait_until

PORT = TEST_PORT_BASE + 81


class Pool:
    """``tawasul agi-server --processes N`` as a real process tree."""

    def __init__(self, env: dict[str, str], log_path: Path, processes: int) -> None:
        self.log_path = log_path
        with log_path.open("ab") as handle:
            self.process = subprocess.Popen(
                [
                    str(REPO / ".venv" / "bin" / "tawasul"),
                    "agi-server",
                    "--processes",
                    str(processes),
                ],
                env={**os.environ, **env},
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        wait_until(lambda: len(self.children()) == processes, 60, "the FastAGI processes")
        wait_until(self._answers, 60, "the FastAGI processes to answer")
        wait_until(
            lambda: all(accepting(pid) for pid in self.children()), 60, "every process to accept"
        )

    def children(self) -> list[int]:
        """The parent's child processes now."""
        if self.process.poll() is not None:
            pytest.fail(f"agi-server exited: {self.log_path.read_text(errors='replace')}")
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def _answers(self) -> bool:
        try:
            return answer(PORT) == 'SET VARIABLE "TAWASUL_AGI_STATUS" "FAILED"'
        except OSError:
            return False

    def stop(self) -> None:
        """Kill whatever is left of the tree."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def accepting(pid: int) -> bool:
    """Whether one of the process's threads waits in accept() (the kernel's wait channel)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "wchan").read_text() == "inet_csk_accept":
                return True
        except OSError:
            continue
    return False


def answer(port: int) -> str:
    """Ask for a script no server has: the server answers that the script failed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"agi_network_script: no-such-script\nagi_uniqueid: 1.1\n\n")
        return sock.makefile("r").readline().strip()


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets a process has open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def server_side_inode(client: socket.socket) -> str | None:
    """The inode of the server's end of a loopback connection (``/proc/net/tcp``)."""
    client_port = client.getsockname()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if local_port == PORT and remote_port == client_port:
            return fields[9]
    return None


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "zombie" not in state


@pytest.fixture
def pool_env(database: Database, settings: Settings) -> dict[str, str]:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return {
        "TAWASUL_VAR_DIR": str(settings.var_dir),
        "TAWASUL_DATABASE_URL": database.url,
        "TAWASUL_SECRET_KEY": settings.secret_key,
        "TAWASUL_AGI_HOST": "127.0.0.1",
        "TAWASUL_AGI_PORT": str(PORT),
        # No Asterisk here: the start-up sweep finds no AMI and says so.
        "TAWASUL_AMI_PORT": str(TEST_PORT_BASE + 82),
        "TAWASUL_ASTERISK_ROOT": str(settings.var_dir / "no-asterisk"),
    }


@pytest.fixture
def pool(pool_env: dict[str, str], settings: Settings) -> Iterator[Pool]:
    started = Pool(pool_env, settings.var_dir / "agi-server.log", 3)
    yield started
    started.stop()


def test_several_processes_answer_on_one_port(pool: Pool) -> None:
    children = pool.children()
    held: list[socket.socket] = []
    owners: dict[int, int] = {}
    try:
        # Connections held open mid-handshake (no blank line yet): each one ties up a thread in
        # whichever process accepted it. They arrive 20 ms apart, as calls do (a burst faster
        # than a process gets back to accept() is taken by the one already awake).
        for _ in range(30):
            client = socket.create_connection(("127.0.0.1", PORT), timeout=10)
            client.sendall(b"agi_network_script: no-such-script\n")
            held.append(client)
            time.sleep(0.02)
        for client in held:
            wait_until(lambda c=client: server_side_inode(c) is not None, 10, "the connection")
        inodes = {pid: socket_inodes(pid) for pid in children}
        for client in held:
            inode = server_side_inode(client)
            for pid, theirs in inodes.items():
                if inode in theirs:
                    owners[pid] = owners.get(pid, 0) + 1
        assert sum(owners.values()) == len(held)
        # Dealt round the processes: every one of them carries calls.
        assert len(owners) == len(children), f"not every process took calls: {owners}"
        # Each held call is answered by the process that holds it.
        for client in held:
            client.sendall(b"agi_uniqueid: 1.1\n\n")
            assert client.makefile("r").readline().startswith("SET VARIABLE")
    finally:
        for client in held:
            client.close()


def test_a_killed_process_is_replaced(pool: Pool) -> None:
    before = pool.children()
    os.kill(before[0], signal.SIGKILL)
    wait_until(
        lambda: len(pool.children()) == 3 and before[0] not in pool.children(),
        30,
        "a new FastAGI process",
    )
    assert set(before[1:]) <= set(pool.children())
    for _ in range(10):
        assert answer(PORT) == 'SET VARIABLE "TAWASUL_AGI_STATUS" "FAILED"'
    assert "restarting it" in pool.log_path.read_text()


def test_sigterm_stops_every_process(pool: Pool) -> None:
    children = pool.children()
    pool.process.send_signal(signal.SIGTERM)
    assert pool.process.wait(timeout=30) == 0
    wait_until(lambda: not any(alive(pid) for pid in children), 10, "the children to stop")
    with pytest.raises(OSError):
        answer(PORT)


def test_children_stop_when_the_parent_is_killed(pool: Pool) -> None:
    children = pool.children()
    # SIGKILL of the parent alone: no chance to stop them, the closed pipe tells them.
    pool.process.kill()
    pool.process.wait(timeout=10)
    wait_until(lambda: not any(alive(pid) for pid in children), 20, "the orphans to stop")
    with pytest.raises(OSError):
        answer(PORT)


def test_the_start_up_sweep_runs_once(pool: Pool) -> None:
    # The parent migrates and sweeps; the children only serve. Every sweep says what it did
    # about AMI (there is none here), so one line means one sweep.
    wait_until(lambda: "not closed here (no AMI)" in pool.log_path.read_text(), 20, "the sweep")
    time.sleep(2)
    assert pool.log_path.read_text().count("not closed here (no AMI)") == 1
