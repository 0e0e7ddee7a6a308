"""The AGI ends of the call benchmark, each run as its own process so its CPU and memory show.

``python -m bench.calls_server MODE PORT STATS_FILE``, with settings from ``TAWASUL_*``:

- ``ours``: the project's FastAGI server and scripts (``tawasul_cli.agi.build_runner``), with each
  AGI command timed; ``BENCH_RECORD=<file>`` writes the commands of the first whole call there.
  ``BENCH_PROCESSES=N`` (default: one per core, as ``tawasul agi-server``) runs it as
  ``tawasul agi-server --processes N`` does: this process listens and supervises N children
  (``ours-child``, each instrumented) through ``tawasul_cli.agi_pool``, and merges their figures.
- ``minimal``: a threaded FastAGI server with no logic and no database that sends a recorded
  command sequence and reads the replies (the limit for FastAGI on this box).
- ``spawn``: classic process-per-call AGI: each connection starts ``tawasul-agi intake`` (pyst2)
  with the socket as its stdin and stdout. Asterisk would start the same program over a pipe;
  the project's Asterisk runs in a chroot without Python, so the socket carries it instead, and
  the cost that matters (an interpreter, the imports and the wiring per call) is the same.

On SIGUSR1 the process writes its figures so far (JSON) to STATS_FILE; on SIGTERM too, then it
exits.
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import os
import pstats
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ivr.agi import StreamChannel
from tawasul.config import load_settings
from tawasul.masking import install_log_scrubbing

# Commands that wait for the caller (prompts, keys, recording) against those that only ask
# Asterisk something: the round trip of the latter is the machinery's.
MEDIA_COMMANDS = (
    "STREAM FILE",
    "GET DATA",
    "WAIT FOR DIGIT",
    "SAY DIGITS",
    "SAY NUMBER",
    "RECORD FILE",
    "GET OPTION",
)

LATE_STEP_MS = 250.0
"""A step this late is within a few hundred milliseconds of losing a caller's next key."""


class Stats:
    """Per-command timings and call counts, shared by the server's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.control_rtt_ms: list[float] = []
        self.think_ms: list[float] = []
        # Of each step (think_ms, same order): the time its transactions waited for SQLite's
        # write lock (BEGIN IMMEDIATE) and held it (BEGIN to COMMIT), and how many it began.
        self.step_lock_wait_ms: list[float] = []
        self.step_lock_hold_ms: list[float] = []
        self.step_transactions: list[int] = []
        # Steps over LATE_STEP_MS: [ms, lock wait ms, lock hold ms, transactions, the thread's
        # CPU ms, the command that ended the step], to tell which step is late, and why.
        self.late_steps: list[list[Any]] = []
        self.commit_ms: list[float] = []
        self.commands = 0
        self.calls_started = 0
        self.calls_finished = 0
        self.calls_failed = 0
        self.db_commits = 0
        self.db_statements = 0
        self.db_connects = 0

    def dump(self, path: Path) -> None:
        with self.lock:
            record = {
                "control_rtt_ms": self.control_rtt_ms,
                "think_ms": self.think_ms,
                "step_lock_wait_ms": self.step_lock_wait_ms,
                "step_lock_hold_ms": self.step_lock_hold_ms,
                "step_transactions": self.step_transactions,
                "late_steps": self.late_steps,
                "commit_ms": self.commit_ms,
                "commands": self.commands,
                "calls_started": self.calls_started,
                "calls_finished": self.calls_finished,
                "calls_failed": self.calls_failed,
                "db_commits": self.db_commits,
                "db_statements": self.db_statements,
                "db_connects": self.db_connects,
            }
        path.write_text(json.dumps(record))


STATS = Stats()
STEP = threading.local()
"""The database work of the current step of this thread's call (``_count_database_work``)."""
PROFILES: list[cProfile.Profile] = []


def dump_raw_profile(path: Path) -> None:
    """Merge this process's calls' profiles into one pstats file (a child's, for its parent)."""
    with STATS.lock:
        profiles = list(PROFILES)
    if not profiles:
        return
    merged = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        merged.add(profile)
    merged.dump_stats(str(path))
    path.with_suffix(".calls").write_text(str(len(profiles)))


def dump_profile(path: Path, children: list[Path] | None = None) -> None:
    """Merge the calls' profiles (this process's, or its children's pstats files); write the
    40 costliest functions (CPU) as text."""
    with STATS.lock:
        profiles: list[Any] = list(PROFILES)
    calls = len(profiles)
    for child in children or []:
        if child.exists():
            profiles.append(str(child))
            calls += int(child.with_suffix(".calls").read_text())
    if not profiles:
        return
    merged = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        merged.add(profile)
    out = io.StringIO()
    merged.stream = out  # type: ignore[attr-defined]
    out.write(f"CPU time of {calls} calls' threads (time.thread_time), all calls together.\n")
    merged.sort_stats("cumulative").print_stats(40)
    merged.sort_stats("tottime").print_stats(25)
    path.write_text(out.getvalue().replace(str(Path.cwd()) + "/", ""))


def _instrument(record_to: Path | None) -> None:
    """Time every command of the project's StreamChannel; optionally record one call."""
    original = StreamChannel.execute
    recorded: dict[int, list[str]] = {}
    written = threading.Event()

    def execute(self: StreamChannel, command: str, *arguments: object) -> Any:
        from ivr.agi import format_command

        started = time.perf_counter()
        cpu = (time.thread_time() - getattr(self, "_bench_last_cpu", 0.0)) * 1000
        last = getattr(self, "_bench_last_reply", None)
        if last is not None:
            # Time between Asterisk's last reply and our next command: our own work (script
            # logic, database) per step.
            think = (started - last) * 1000
        else:
            think = None
        if record_to is not None and not written.is_set():
            if record_to.exists():
                # Recorded by a sibling process: stop asking (a stat per command, counted as
                # our server's CPU).
                written.set()
            else:
                recorded.setdefault(id(self), []).append(format_command(command, *arguments))
        waited, held, began = _step_database_work()
        try:
            return original(self, command, *arguments)
        finally:
            done = time.perf_counter()
            self._bench_last_reply = done  # type: ignore[attr-defined]
            self._bench_last_cpu = time.thread_time()  # type: ignore[attr-defined]
            with STATS.lock:
                STATS.commands += 1
                if think is not None:
                    STATS.think_ms.append(think)
                    STATS.step_lock_wait_ms.append(waited)
                    STATS.step_lock_hold_ms.append(held)
                    STATS.step_transactions.append(began)
                    if think > LATE_STEP_MS:
                        label = f"{command} {arguments[0] if arguments else ''}"
                        STATS.late_steps.append([think, waited, held, began, cpu, label])
                if command not in MEDIA_COMMANDS:
                    STATS.control_rtt_ms.append((done - started) * 1000)

    def finished(channel: StreamChannel) -> None:
        lines = recorded.pop(id(channel), None)
        # Several processes: the first call of the first one is recorded, once.
        if record_to is not None and lines and not written.is_set() and not record_to.exists():
            record_to.write_text("".join(lines))
            written.set()

    StreamChannel.execute = execute  # type: ignore[method-assign]
    _instrument.finished = finished  # type: ignore[attr-defined]


def serve_ours(port: int, sock: socket.socket | None = None) -> socketserver.BaseServer:
    """The project's FastAGI server, instrumented (on ``sock`` when a parent shares one)."""
    import dataclasses

    from ivr import server as ivr_server
    from tawasul.db import make_engine
    from tawasul.migrate import upgrade
    from tawasul_cli.agi import build_runner

    record = os.environ.get("BENCH_RECORD")
    _instrument(Path(record) if record else None)
    settings = dataclasses.replace(load_settings(), agi_port=port)
    from tawasul_cli.agi import pool_options
    from tawasul_cli.agi_pool import sibling_count

    engine = make_engine(settings.resolved_database_url(), **pool_options(sibling_count()))
    if sock is None:
        upgrade(engine)  # a child's parent has migrated
    _count_database_work(engine)
    from tawasul_cli.commands import wal_checkpointer

    wal_checkpointer(engine)  # as tawasul agi-server does
    runner = build_runner(settings, engine)
    original_run = runner.run

    profile_to = os.environ.get("BENCH_PROFILE")

    def run(channel: Any, name: str) -> None:
        with STATS.lock:
            STATS.calls_started += 1
        try:
            if profile_to:
                # CPU time of this call's thread only (time.thread_time): what the server
                # spends per call, without the waits for the caller.
                profile = cProfile.Profile(time.thread_time)
                profile.runcall(original_run, channel, name)
                with STATS.lock:
                    PROFILES.append(profile)
            else:
                original_run(channel, name)
        finally:
            _instrument.finished(channel)  # type: ignore[attr-defined]
            with STATS.lock:
                STATS.calls_finished += 1

    runner.run = run  # type: ignore[method-assign]
    if sock is not None:
        return ivr_server.FastAGIServer.on_socket(sock, runner)
    return ivr_server.FastAGIServer(("127.0.0.1", port), runner)


def _step_database_work() -> tuple[float, float, int]:
    """The lock wait (ms), lock hold (ms) and transactions of this thread's step so far; the
    counts start again at zero."""
    figures = (
        getattr(STEP, "waited", 0.0),
        getattr(STEP, "held", 0.0),
        getattr(STEP, "began", 0),
    )
    STEP.waited, STEP.held, STEP.began = 0.0, 0.0, 0
    return figures


def _count_database_work(engine: Any) -> None:
    """Count the commits, the statements (each a round trip on PostgreSQL) and the database
    connections opened for the calls; time each step's wait for SQLite's write lock (its
    ``BEGIN IMMEDIATE``) and how long its transactions held it."""
    from sqlalchemy import event

    def ended(_connection: Any) -> None:
        started = getattr(STEP, "holding_since", None)
        if started is not None:
            STEP.held = getattr(STEP, "held", 0.0) + (time.perf_counter() - started) * 1000
            STEP.holding_since = None

    def committed(_connection: Any) -> None:
        with STATS.lock:
            STATS.db_commits += 1

    # The lock is held until the COMMIT (or ROLLBACK) returns: it writes the WAL, and now
    # and then checkpoints it.
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback"):
        original = getattr(dialect, name)

        def finish(dbapi_connection: Any, _original: Any = original) -> None:
            started = time.perf_counter()
            try:
                _original(dbapi_connection)
            finally:
                ended(dbapi_connection)
                with STATS.lock:
                    STATS.commit_ms.append((time.perf_counter() - started) * 1000)

        setattr(dialect, name, finish)

    from tawasul import db

    # The wait for the write lock: in tawasul.db's write gate, then in SQLite's BEGIN IMMEDIATE.
    gate_acquire = getattr(db, "WriteGate", None) and db.WriteGate.acquire
    if gate_acquire and not getattr(gate_acquire, "timed", False):

        def acquire(gate: Any, dbapi_connection: Any, timeout: float) -> None:
            started = time.perf_counter()
            try:
                gate_acquire(gate, dbapi_connection, timeout)
            finally:
                STEP.waited = getattr(STEP, "waited", 0.0) + (time.perf_counter() - started) * 1000

        acquire.timed = True  # type: ignore[attr-defined]
        db.WriteGate.acquire = acquire  # type: ignore[method-assign]

    def executed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement == "BEGIN IMMEDIATE":
            STEP.begin_sent = time.perf_counter()
        with STATS.lock:
            STATS.db_statements += 1

    def answered(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement == "BEGIN IMMEDIATE":
            now = time.perf_counter()
            STEP.waited = getattr(STEP, "waited", 0.0) + (now - STEP.begin_sent) * 1000
            STEP.began = getattr(STEP, "began", 0) + 1
            STEP.holding_since = now

    def connected(*_: Any) -> None:
        with STATS.lock:
            STATS.db_connects += 1

    event.listen(engine, "connect", connected)
    event.listen(engine, "commit", committed)
    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "after_cursor_execute", answered)


class MergedStats:
    """The children's figures added up, their lists kept in the order they grew: each child's
    file holds everything since it started, so only what is new since the last merge is
    appended (the bench reads the lists as running records)."""

    def __init__(self) -> None:
        self.total: dict[str, Any] = {
            "control_rtt_ms": [],
            "think_ms": [],
            "step_lock_wait_ms": [],
            "step_lock_hold_ms": [],
            "step_transactions": [],
            "late_steps": [],
            "commit_ms": [],
            "commands": 0,
            "calls_started": 0,
            "calls_finished": 0,
            "calls_failed": 0,
            "db_commits": 0,
            "db_statements": 0,
            "db_connects": 0,
        }
        self.counts: dict[Path, dict[str, Any]] = {}

    def merge(self, files: list[Path], into: Path) -> None:
        """Read the children's files, add what is new, write the running total to ``into``."""
        for path in files:
            record = json.loads(path.read_text())
            before = self.counts.get(path, {})
            for key, value in record.items():
                if isinstance(value, list):
                    self.total[key].extend(value[before.get(key, 0) :])
                    before[key] = len(value)
                else:
                    self.total[key] += value - before.get(key, 0)
                    before[key] = value
            self.counts[path] = before
        into.write_text(json.dumps(self.total))


def serve_pool(port: int, stats_file: Path, processes: int) -> int:
    """``ours`` as ``tawasul agi-server --processes N``: listen, supervise N instrumented
    children, merge their figures on SIGUSR1 and at the end."""
    from tawasul.db import make_engine
    from tawasul.migrate import upgrade
    from tawasul_cli import agi_pool

    engine = make_engine(load_settings().resolved_database_url())
    upgrade(engine)
    engine.dispose()
    sock = agi_pool.listen("127.0.0.1", port)
    command = [sys.executable, "-m", "bench.calls_server", "ours-child", str(port), str(stats_file)]
    supervisor = agi_pool.Supervisor(sock, processes, command)
    supervisor.start()

    merged = MergedStats()

    def child_files(suffix: str) -> list[Path]:
        return [Path(f"{stats_file}.{pid}{suffix}") for pid in supervisor.pids]

    def collect() -> None:
        # Each child rewrites its own file on SIGUSR1; wait for all of them, then merge.
        files = child_files("")
        for path in files:
            path.unlink(missing_ok=True)
        for pid in supervisor.pids:
            os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not all(p.exists() for p in files) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        merged.merge([p for p in files if p.exists()], stats_file)

    # Ready once every child has written its first (empty) figures.
    deadline = time.monotonic() + 120
    while not all(p.exists() for p in child_files("")) and time.monotonic() < deadline:
        time.sleep(0.1)
    asked = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: asked.set())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    while not stop.is_set():
        if asked.wait(0.1):
            asked.clear()
            collect()
    pids = supervisor.pids
    collect()
    supervisor.stop()
    sock.close()
    profile = os.environ.get("BENCH_PROFILE")
    if profile:
        parts = [Path(f"{profile}.{pid}.prof") for pid in pids]
        dump_profile(Path(profile), parts)
        for part in parts:
            part.unlink(missing_ok=True)
            part.with_suffix(".calls").unlink(missing_ok=True)
    return 0


class _MinimalHandler(socketserver.StreamRequestHandler):
    """Read the environment, send the recorded commands one by one, read each reply."""

    commands: list[str] = []

    def handle(self) -> None:
        with STATS.lock:
            STATS.calls_started += 1
        rfile = self.rfile
        while rfile.readline().strip():
            pass  # the agi_* environment
        failed = False
        for line in self.commands:
            started = time.perf_counter()
            try:
                self.wfile.write(line.encode())
                reply = rfile.readline()
                while reply.startswith(b"HANGUP"):
                    reply = rfile.readline()
            except OSError:
                failed = True
                break
            if not reply.startswith(b"200"):
                failed = True
                break
            if not line.startswith(MEDIA_COMMANDS):
                with STATS.lock:
                    STATS.control_rtt_ms.append((time.perf_counter() - started) * 1000)
        with STATS.lock:
            STATS.commands += len(self.commands)
            STATS.calls_finished += 1
            STATS.calls_failed += failed


def serve_minimal(port: int) -> socketserver.BaseServer:
    """A FastAGI server that only replays commands."""
    script = Path(os.environ["BENCH_COMMANDS"]).read_text().splitlines(keepends=True)
    _MinimalHandler.commands = script
    return _threaded_server(port, _MinimalHandler)


def _threaded_server(
    port: int, handler: type[socketserver.BaseRequestHandler]
) -> socketserver.ThreadingTCPServer:
    """A thread per connection on 127.0.0.1:port, set up like the project's FastAGI server."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), handler, False)
    server.daemon_threads = True
    server.allow_reuse_address = True
    server.request_queue_size = 512
    server.server_bind()
    server.server_activate()
    return server


class _SpawnHandler(socketserver.BaseRequestHandler):
    """One ``tawasul-agi intake`` process per call, talking AGI over the connection."""

    program: list[str] = []

    def handle(self) -> None:
        with STATS.lock:
            STATS.calls_started += 1
        sock: socket.socket = self.request
        process = subprocess.Popen(
            self.program, stdin=sock.fileno(), stdout=sock.fileno(), stderr=subprocess.DEVNULL
        )
        code = process.wait()
        with STATS.lock:
            STATS.calls_finished += 1
            STATS.calls_failed += code != 0


def serve_spawn(port: int) -> socketserver.BaseServer:
    """A listener that starts the classic pyst2 AGI program for each call."""
    _SpawnHandler.program = [str(Path(sys.executable).with_name("tawasul-agi")), "intake"]
    return _threaded_server(port, _SpawnHandler)


def main() -> int:
    """Serve in MODE on PORT until SIGTERM, then write the figures to STATS_FILE."""
    mode, port, stats_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    # Like every tawasul process: warnings and errors logged, personal data masked in them.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_log_scrubbing()
    if mode == "ours":
        from tawasul_cli.agi_pool import default_processes

        processes = int(os.environ.get("BENCH_PROCESSES") or default_processes())
        if processes > 1:
            return serve_pool(port, stats_file, processes)
    if mode == "ours-child":
        return serve_child(port, Path(f"{stats_file}.{os.getpid()}"))
    builders = {"ours": serve_ours, "minimal": serve_minimal, "spawn": serve_spawn}
    server = builders[mode](port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: STATS.dump(stats_file))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print("ready", flush=True)
    stop.wait()
    STATS.dump(stats_file)
    if os.environ.get("BENCH_PROFILE") and mode == "ours":
        dump_profile(Path(os.environ["BENCH_PROFILE"]))
    server.shutdown()
    return 0


def serve_child(port: int, stats_file: Path) -> int:
    """One instrumented FastAGI process of ``serve_pool``'s, on the socket it inherited."""
    from tawasul_cli import agi_pool

    sock = agi_pool.inherited_socket()
    assert sock is not None, "ours-child is started by the ours end's parent"
    server = serve_ours(port, sock)
    assert isinstance(server, socketserver.TCPServer)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: STATS.dump(stats_file))
    agi_pool.stop_with_parent(stop)
    threading.Thread(target=server.accept_forever, daemon=True).start()  # type: ignore[attr-defined]
    STATS.dump(stats_file)  # the parent's sign that this child serves
    agi_pool.tell_parent_ready()
    stop.wait()
    STATS.dump(stats_file)
    profile = os.environ.get("BENCH_PROFILE")
    if profile:
        dump_raw_profile(Path(f"{profile}.{os.getpid()}.prof"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
