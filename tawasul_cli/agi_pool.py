"""Several FastAGI processes on one port: ``tawasul agi-server --processes N``.

One Python process runs every call's thread under one interpreter lock, so past about a hundred
calls in flight the calls queue for it and a caller's next key arrives while the script is still
between two commands (BENCHMARKS.md, phone intake). N processes give the calls N interpreters.

How they share the port: a **pre-fork parent** binds and listens once, and every child accepts
on that same socket, inherited through ``pass_fds``. Chosen over ``SO_REUSEPORT`` (each child
binding a socket of its own) because:

- the accept queue is one: a child that dies loses only the calls it was carrying, never the
  connections the kernel had already queued for it (with ``SO_REUSEPORT`` those are reset);
- the children wait in a blocking ``accept`` and the kernel wakes one at a time, the longest
  waiting first: the calls are dealt round the children in turn, as evenly as ``SO_REUSEPORT``
  deals them, without its hash (children polling the socket instead all wake for each call, and
  the least busy one at that instant takes nearly all of them);
- the port is held by the parent for the server's whole life: a child restarted after a crash
  does not race another program for it.

The children are fresh interpreters started with ``subprocess`` (not ``os.fork`` of a process
that already runs threads and holds database connections): each opens its own engine and its
own pool. The parent migrates the schema and runs the start-up sweep (a dead server's calls and
the spool, ``tawasul_cli.commands.sweep_after_dead_servers``) once, with its one engine; it
restarts a child that dies, and on SIGTERM or SIGINT stops every child, then itself. Each child
also holds the read end of a pipe whose write end only the parent holds: if the parent is killed
outright, the children see the pipe close and stop too, so no orphan keeps serving the port.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

LISTEN_FD_ENV = "TAWASUL_AGI_LISTEN_FD"
"""The child's environment variable naming the inherited listening socket's descriptor."""
PROCESSES_ENV = "TAWASUL_AGI_PROCESSES"
"""The child's environment variable saying how many FastAGI processes share the port (each
keeps its share of the database connections, ``tawasul_cli.agi.pool_options``)."""
PARENT_FD_ENV = "TAWASUL_AGI_PARENT_FD"
"""The child's environment variable naming the read end of the pipe that closes with the parent."""

RESTART_BACKOFF_S = (0.0, 0.5, 1.0, 2.0, 5.0)
"""Wait before restarting a child that died, by how many died in a row within a minute: a child
that cannot start (a broken setting) is not restarted in a tight loop."""
STOP_GRACE_S = 10.0
"""How long SIGTERM'd children get to stop before they are killed."""
LISTEN_BACKLOG = 512


def default_processes() -> int:
    """One FastAGI process per core (what ``--processes`` defaults to)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


READY_FD_ENV = "TAWASUL_AGI_READY_FD"
"""The child's environment variable naming the pipe it writes one byte to once it can serve."""
READY_WAIT_S = 120.0
"""How long the parent waits for its first children to be ready before it listens anyway."""


def listen(host: str, port: int) -> socket.socket:
    """Bind host:port for the children, which wait in a blocking ``accept``
    (``FastAGIServer.accept_forever``: the kernel deals the connections round them). The
    socket listens only once :meth:`Supervisor.start` has seen every child ready: a call
    queued meanwhile would wait for a process still importing, its caller's keys lost."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class Child:
    """One FastAGI child process and how often it died lately."""

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.process: subprocess.Popen[bytes] | None = None
        self.deaths: list[float] = []
        self.restart_at = 0.0


class Supervisor:
    """Starts ``processes`` children on one listening socket, restarts those that die, stops
    them all on request."""

    def __init__(
        self,
        sock: socket.socket,
        processes: int,
        command: Sequence[str],
        env: dict[str, str] | None = None,
    ) -> None:
        """
        Args:
            sock: the listening socket every child accepts on (see :func:`listen`).
            processes: how many children to keep running (at least one).
            command: the child's command line; it finds the socket and the pipe through
                ``TAWASUL_AGI_LISTEN_FD`` and ``TAWASUL_AGI_PARENT_FD``.
            env: the children's environment (the parent's by default).
        """
        if processes < 1:
            raise ValueError(f"at least one FastAGI process, not {processes}")
        self.sock = sock
        self.command = list(command)
        self.env = dict(os.environ if env is None else env)
        self.children = [Child(slot) for slot in range(processes)]
        # The children inherit the read end; only this process holds the write end.
        self._alive_read, self._alive_write = os.pipe()
        self._ready_read, self._ready_write = os.pipe()
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def pids(self) -> list[int]:
        """The process ids of the children running now."""
        with self._lock:
            return [c.process.pid for c in self.children if c.process and c.process.poll() is None]

    def start(self, stop: threading.Event | None = None) -> None:
        """Start every child, wait until each can serve (or has died: :meth:`watch` restarts
        it), then listen; return early when ``stop`` is set."""
        for child in self.children:
            self._spawn(child)
        waiting = len(self.children)
        deadline = time.monotonic() + READY_WAIT_S

        def hopeless() -> bool:
            dead = sum(1 for c in self.children if c.process and c.process.poll() is not None)
            return (stop is not None and stop.is_set()) or dead >= waiting

        while waiting and time.monotonic() < deadline and not hopeless():
            readable, _, _ = select.select([self._ready_read], [], [], 0.5)
            if readable:
                waiting -= len(os.read(self._ready_read, waiting))
        if waiting:
            log.warning("%d FastAGI processes not ready after %.0f s", waiting, READY_WAIT_S)
        self.sock.listen(LISTEN_BACKLOG)

    def _spawn(self, child: Child) -> None:
        fd = self.sock.fileno()
        env = {
            **self.env,
            LISTEN_FD_ENV: str(fd),
            PARENT_FD_ENV: str(self._alive_read),
            PROCESSES_ENV: str(len(self.children)),
            READY_FD_ENV: str(self._ready_write),
        }
        with self._lock:
            if self._stopping.is_set():
                return
            child.process = subprocess.Popen(
                self.command, env=env, pass_fds=(fd, self._alive_read, self._ready_write)
            )
        log.info("FastAGI process %d started (pid %d)", child.slot, child.process.pid)

    def watch(self, stop: threading.Event, every_s: float = 0.2) -> None:
        """Restart children that die until ``stop`` is set (call from the main thread)."""
        while not stop.wait(every_s):
            now = time.monotonic()
            for child in self.children:
                process = child.process
                if process is None:
                    if now >= child.restart_at:
                        self._spawn(child)
                    continue
                code = process.poll()
                if code is None:
                    continue
                child.deaths = [t for t in child.deaths if now - t < 60] + [now]
                backoff = RESTART_BACKOFF_S[min(len(child.deaths), len(RESTART_BACKOFF_S)) - 1]
                log.error(
                    "FastAGI process %d (pid %d) exited with %s: its calls are lost, "
                    "restarting it in %.1f s",
                    child.slot,
                    process.pid,
                    code,
                    backoff,
                )
                child.process = None
                child.restart_at = now + backoff

    def stop(self) -> None:
        """SIGTERM every child, wait ``STOP_GRACE_S`` for them, then kill what is left."""
        self._stopping.set()
        with self._lock:
            running = [c.process for c in self.children if c.process is not None]
        for process in running:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("FastAGI process pid %d did not stop: killed", process.pid)
                process.kill()
                process.wait()
        for fd in (self._alive_write, self._alive_read, self._ready_write, self._ready_read):
            os.close(fd)


def inherited_socket() -> socket.socket | None:
    """In a child: the listening socket the parent passed, or None when not started by one."""
    fd = os.environ.get(LISTEN_FD_ENV)
    if not fd:
        return None
    return socket.socket(fileno=int(fd))


def sibling_count() -> int:
    """In a child: how many FastAGI processes share the port (1 when not started by a parent)."""
    return int(os.environ.get(PROCESSES_ENV) or 1)


def tell_parent_ready() -> None:
    """In a child: tell the parent this process can serve (it listens once all can)."""
    fd = os.environ.get(READY_FD_ENV)
    if fd:
        os.write(int(fd), b".")
        os.close(int(fd))


def stop_with_parent(stop: threading.Event) -> None:
    """In a child: set ``stop`` when the parent's pipe closes (the parent died or stopped)."""
    fd = os.environ.get(PARENT_FD_ENV)
    if not fd:
        return
    read_end = int(fd)

    def wait() -> None:
        try:
            while os.read(read_end, 1):
                pass
        except OSError:
            pass
        stop.set()

    threading.Thread(target=wait, name="parent-alive", daemon=True).start()


def child_command() -> list[str]:
    """How the parent starts a child: this interpreter running ``tawasul agi-server`` in child
    mode (the listening socket named in its environment)."""
    return [sys.executable, "-m", "tawasul_cli.main", "agi-server", "--child"]


def handle_termination(stop: threading.Event) -> None:
    """Set ``stop`` on SIGTERM or SIGINT (call from the main thread)."""

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
