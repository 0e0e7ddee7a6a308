"""The FastAGI processes' set-up: how many, their database pool, the command line."""

from __future__ import annotations

import os
import socket

import pytest

from tawasul_cli.agi import AGI_CONNECTIONS, pool_options
from tawasul_cli.agi_pool import Supervisor, default_processes, listen, sibling_count
from tawasul_cli.main import build_parser, main


def test_one_process_per_core_by_default() -> None:
    assert default_processes() == len(os.sched_getaffinity(0))
    assert build_parser().parse_args(["agi-server"]).processes is None
    assert build_parser().parse_args(["agi-server", "--processes", "3"]).processes == 3


def test_no_fewer_than_one_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agi-server", "--processes", "0"]) == 2
    assert "--processes must be at least 1" in capsys.readouterr().err
    sock = listen("127.0.0.1", 0)
    try:
        with pytest.raises(ValueError):
            Supervisor(sock, 0, ["true"])
    finally:
        sock.close()


def test_the_processes_share_a_fixed_set_of_connections() -> None:
    # Kept open and waited for: never opened and closed again per transaction.
    assert pool_options(1) == {"pool_size": AGI_CONNECTIONS, "max_overflow": 0}
    assert pool_options(2) == {"pool_size": AGI_CONNECTIONS // 2, "max_overflow": 0}
    assert pool_options(64)["pool_size"] >= 5


def test_a_child_learns_how_many_share_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAWASUL_AGI_PROCESSES", raising=False)
    assert sibling_count() == 1
    monkeypatch.setenv("TAWASUL_AGI_PROCESSES", "4")
    assert sibling_count() == 4


def test_the_port_refuses_calls_until_the_children_are_ready() -> None:
    sock = listen("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        # Bound, not listening: a call is refused rather than queued for a process that is
        # still starting (Supervisor.start listens once every child said it is ready).
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        sock.listen(8)
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        sock.close()
