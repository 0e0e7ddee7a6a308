"""The AGI ends of the call benchmark, each run as its own process so its CPU and memory show.

``python -m bench.calls_server MODE PORT STATS_FILE``, with settings from ``TAWASUL_*``:

- ``ours``: the project's FastAGI server and scripts (``tawasul_cli.agi.build_runner``), with each
  AGI command timed; ``BENCH_RECORD=<file>`` writes the commands of the first whole call there.
- ``minimal``: a threaded FastAGI server with no logic and no database that sends a recorded
  command sequence and reads the replies (the limit for FastAGI on this box).
- ``spawn``: classic process-per-call AGI: each connection starts ``tawasul-agi intake`` (pyst2)
  with the socket as its stdin and stdout. Asterisk would start the same program over a pipe;
  the project's Asterisk runs in a chroot without Python, so the socket carries it instead, and
  the cost that matters (an interpreter, the imports and the wiring per call) is the same.

On SIGTERM the process writes its figures (JSON) to STATS_FILE and exits.
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


class Stats:
    """Per-command timings and call counts, shared by the server's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.control_rtt_ms: list[float] = []
        self.think_ms: list[float] = []
        self.commands = 0
        self.calls_started = 0
        self.calls_finished = 0
        self.calls_failed = 0

    def dump(self, path: Path) -> None:
        with self.lock:
            record = {
                "control_rtt_ms": self.control_rtt_ms,
                "think_ms": self.think_ms,
                "commands": self.commands,
                "calls_started": self.calls_started,
                "calls_finished": self.calls_finished,
                "calls_failed": self.calls_failed,
            }
        path.write_text(json.dumps(record))


STATS = Stats()
PROFILES: list[cProfile.Profile] = []


def dump_profile(path: Path) -> None:
    """Merge the calls' profiles; write the 40 costliest functions (CPU) as text."""
    with STATS.lock:
        profiles = list(PROFILES)
    if not profiles:
        return
    merged = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        merged.add(profile)
    out = io.StringIO()
    merged.stream = out  # type: ignore[attr-defined]
    calls = len(profiles)
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
        last = getattr(self, "_bench_last_reply", None)
        if last is not None:
            # Time between Asterisk's last reply and our next command: our own work (script
            # logic, database) per step.
            think = (started - last) * 1000
        else:
            think = None
        if record_to is not None and not written.is_set():
            recorded.setdefault(id(self), []).append(format_command(command, *arguments))
        try:
            return original(self, command, *arguments)
        finally:
            done = time.perf_counter()
            self._bench_last_reply = done  # type: ignore[attr-defined]
            with STATS.lock:
                STATS.commands += 1
                if think is not None:
                    STATS.think_ms.append(think)
                if command not in MEDIA_COMMANDS:
                    STATS.control_rtt_ms.append((done - started) * 1000)

    def finished(channel: StreamChannel) -> None:
        lines = recorded.pop(id(channel), None)
        if record_to is not None and lines and not written.is_set():
            record_to.write_text("".join(lines))
            written.set()

    StreamChannel.execute = execute  # type: ignore[method-assign]
    _instrument.finished = finished  # type: ignore[attr-defined]


def serve_ours(port: int) -> socketserver.BaseServer:
    """The project's FastAGI server, instrumented."""
    import dataclasses

    from ivr import server as ivr_server
    from tawasul.db import make_engine
    from tawasul.migrate import upgrade
    from tawasul_cli.agi import build_runner

    record = os.environ.get("BENCH_RECORD")
    _instrument(Path(record) if record else None)
    settings = dataclasses.replace(load_settings(), agi_port=port)
    upgrade(make_engine(settings.resolved_database_url()))
    runner = build_runner(settings)
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
    return ivr_server.FastAGIServer(("127.0.0.1", port), runner)


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


if __name__ == "__main__":
    sys.exit(main())
