"""Phone intake through real Asterisk: our FastAGI flow against the limits beside it.

Four ends answer the same scripted callers (Local channels, keys sent by ``SendDTMF``) at each
concurrency level, one after the other in the same run:

- ``dialplan``: the menu written in pure dialplan, no AGI (Asterisk's own ceiling);
- ``minimal``: a FastAGI server with no logic and no database replaying the very commands our
  flow sends (the limit for FastAGI on this box);
- ``ours``: the project's FastAGI server, scripts and database (SQLite, the embedded default),
  as ``tawasul agi-server`` runs by default: one process per core on one port; ``ours-pg`` the
  same on PostgreSQL; ``ours-1`` and ``ours-pg-1`` one process for every call, beside them;
- ``spawn``: the same scripts as classic process-per-call AGI through pyst2.

Every prompt and every digit sound is replaced by 20 ms of silence in this instance, so a call
takes as long as its caller's keys (about seven seconds) and the measure is the machinery.
Each level keeps N calls in flight for a window, then lets them finish. Run:
``.venv/bin/python -m bench.calls [--levels 10,50,100,200,400] [--window 15]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from bench.calls_server import LATE_STEP_MS
from bench.common import (
    REPO,
    RESULTS,
    WORK,
    median,
    percentile,
    process_stats,
    table,
    write_result,
)
from ivr.prompts import PromptBuilder, load_catalogue
from providers.ami import AMIClient, Message
from tawasul.config import Settings
from tawasul.db import empty_postgres_database
from tawasul.ids import luhn_valid
from tawasul.models import Call, CallOutcome
from tawasul_cli.asterisk import CONFIG_DIR, Harness, default_cache_dir

# BENCH_PORT_BASE moves the bench's ports (two worktrees benchmarking on one box).
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "18000"))
AMI_PORT = PORT_BASE + 38
SIP_PORT = PORT_BASE + 60
PORTS = {
    "ours": PORT_BASE + 73,
    "minimal": PORT_BASE + 74,
    "spawn": PORT_BASE + 75,
    "ours-pg": PORT_BASE + 76,
    "ours-profiled": PORT_BASE + 77,
    "ours-1": PORT_BASE + 78,
    "ours-pg-1": PORT_BASE + 79,
}
VARIANTS = ("dialplan", "minimal", "ours-1", "ours", "ours-pg-1", "ours-pg", "spawn")
# The production database for the ours-pg end (created afresh for each run).
POSTGRES_URL = os.environ.get(
    "BENCH_CALLS_POSTGRES_URL",
    "postgresql+psycopg://tawasul:tawasul@127.0.0.1:5432/tawasul_bench_calls",
)
CALLER_ID = "0551234567"
# The recording notice plays first (no caller presses before the menu speaks); then
# English; 1 new request; the ID; 1 confirm; 1 category; 1 official; 2 video call; 1 the caller
# ID as callback number; a short voice message (``v``: 0.3 s of speech, bench.conf) ended by #;
# 3 save; 2 no agent, then wait. A take without audio is not a message (the menu asks again),
# so the caller speaks: 0.3 s after the last key, as the # came 0.6 s after it before.
SCRIPT = (
    "w{lead}/2/w0.5/1/w0.5/{national_id}/w0.6"
    "/1/w0.5/1/w0.5/1/w0.5/2/w0.5/1/w0.3/v/#/w0.5/3/w0.8/2/w30"
)
# Callers listen to the notice for 1.5 to 4.5 s before their first key: with every caller on
# the same clock, a hundred calls would take each step in the same instant, which no centre sees.
_jitter = random.Random(20261128)


def caller_script() -> str:
    """One caller's keys: a new national ID, and a lead-in of their own."""
    lead = round(1.5 + _jitter.uniform(0, 3), 1)
    return SCRIPT.format(lead=lead, national_id=next_national_id())


_serials = itertools.count(1)


def next_national_id() -> str:
    """A new valid national ID for each call (the same ID twice is a duplicate request)."""
    body = f"1{next(_serials):08d}"
    return next(body + digit for digit in "0123456789" if luhn_valid(body + digit))


SILENCE_MS = 20
VOICE_S = 0.3


class BenchHarness(Harness):
    """The benchmark's own Asterisk (``var/bench``): silent prompts and the bench contexts."""

    def install_config(self) -> None:
        """The project's configuration, plus bench.conf, a SIPp endpoint and silent sounds."""
        super().install_config()
        etc = self.root / CONFIG_DIR.lstrip("/")
        (etc / "bench.conf").write_text((REPO / "bench" / "asterisk" / "bench.conf").read_text())
        with open(etc / "extensions.conf", "a") as extensions:
            extensions.write('\n#include "bench.conf"\n')
        with open(etc / "pjsip.conf", "a") as pjsip:
            pjsip.write(_SIPP_ENDPOINT)
        _, gid = self._asterisk_ids()
        os.chown(etc / "bench.conf", 0, gid)
        (etc / "bench.conf").chmod(0o640)
        self._silence_sounds()

    def _silence_sounds(self) -> None:
        sounds = self.root / "usr/share/asterisk/sounds"
        for language in ("en", "ar"):
            base = self._inside(sounds / language)
            for path in list(base.rglob("*")):
                if path.suffix in (".gsm", ".wav", ".ulaw", ".alaw", ".sln", ".g722"):
                    path.unlink()
                    _write_silence(path.with_suffix(".wav"))
        _write_voice(self._inside(sounds) / "bench-voice.wav")


_SIPP_ENDPOINT = """
; bench: SIPp's calls from 127.0.0.1, no authentication, keys as SIP INFO
[sipp]
type = endpoint
context = bench-sip-inbound
disallow = all
allow = ulaw
dtmf_mode = info
direct_media = no
rtp_symmetric = yes
media_address = 127.0.0.1
bind_rtp_to_media_address = yes
callerid = 0551234567 <0551234567>

[sipp]
type = identify
endpoint = sipp
match = 127.0.0.1
"""


def voice_tone() -> bytes:
    """The bench caller's voice message (``v`` in its script): :data:`VOICE_S` seconds of a
    440 Hz tone, 16-bit signed linear PCM, 8 kHz, mono."""
    import math

    return b"".join(
        int(8000 * math.sin(2 * math.pi * 440 * n / 8000)).to_bytes(2, "little", signed=True)
        for n in range(int(8000 * VOICE_S))
    )


def _write_voice(path: Path) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(voice_tone())


def _write_silence(path: Path) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\x00\x00" * (8 * SILENCE_MS))


def start_bench_asterisk() -> tuple[Settings, BenchHarness, dict[str, str]]:
    """A fresh bench database and a freshly started bench Asterisk; the AGI ends' environment."""
    settings = bench_settings()
    WORK.mkdir(parents=True, exist_ok=True)
    for leftover in WORK.glob("calls.db*"):
        leftover.unlink()
    PromptBuilder().build(load_catalogue())
    from tawasul_cli.commands import keygen

    keygen(settings)
    harness = BenchHarness(settings, default_cache_dir())
    harness.down()
    harness.up()
    harness.cli("logger set level VERBOSE off")
    env = {
        **os.environ,
        "TAWASUL_VAR_DIR": str(WORK),
        "TAWASUL_DATABASE_URL": settings.database_url,
        "TAWASUL_ASTERISK_ROOT": str(harness.root),
        # Open around the clock: the bench measures the in-hours menu whatever the time.
        "TAWASUL_WORKING_DAYS": "sun,mon,tue,wed,thu,fri,sat",
        "TAWASUL_WORKING_HOURS": "00:00-23:59:59",
    }
    return settings, harness, env


def bench_settings() -> Settings:
    """Settings of the bench instance: its own var directory, ports and SQLite database."""
    return dataclasses.replace(
        Settings(),
        var_dir=WORK,
        ami_port=AMI_PORT,
        agi_port=PORTS["ours"],
        sip_port=SIP_PORT,
        database_url=f"sqlite:///{WORK / 'calls.db'}",
    )


@dataclass
class Placed:
    """One benchmark call: its IVR-side uniqueid and times."""

    ivr_uniqueid: str
    caller_uniqueid: str
    started: float
    ended: float | None = None
    result: str | None = None  # from the dialplan menu's UserEvent


@dataclass
class Tracker:
    """Follows hang-ups and menu results from AMI."""

    calls: dict[str, Placed] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def on_event(self, event: Message) -> None:
        name = event.get("Event")
        if name == "Hangup":
            with self.changed:
                placed = self.calls.get(event.get("Uniqueid", ""))
                if placed is not None and placed.ended is None:
                    placed.ended = time.monotonic()
                    self.changed.notify_all()
        elif name == "UserEvent" and event.get("UserEvent") == "BenchMenu":
            with self.changed:
                placed = self.calls.get(event.get("Uniqueid", ""))
                if placed is not None:
                    placed.result = event.get("Result")


STEP_LISTS = (
    "control_rtt_ms",
    "think_ms",
    "step_lock_wait_ms",
    "step_lock_hold_ms",
    "step_transactions",
    "late_steps",
    "commit_ms",
)
"""The servers' running records, read as what grew since the last cell."""


class ServerProcess:
    """One AGI end (``bench.calls_server``) in its own process."""

    def __init__(self, variant: str, env: dict[str, str]) -> None:
        mode = "ours" if variant.startswith("ours") else variant
        self.mode = mode
        self.stats_file = WORK / f"server-{variant}.json"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.calls_server",
                mode,
                str(PORTS[variant]),
                str(self.stats_file),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=open(WORK / f"server-{variant}.log", "w"),  # noqa: SIM115
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(
                f"the {mode} AGI server did not start: see var/bench/server-{mode}.log"
            )
        self._seen = dict.fromkeys(STEP_LISTS, 0)
        self._counted = {
            "db_commits": 0,
            "db_statements": 0,
            "db_connects": 0,
            "calls_finished": 0,
        }

    def stats(self) -> dict[str, Any]:
        """Figures since the last call of this method (lists) and running totals."""
        self.stats_file.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not self.stats_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        record = json.loads(self.stats_file.read_text())
        for key in STEP_LISTS:
            everything = record.get(key, [])
            record[key] = everything[self._seen[key] :]
            self._seen[key] = len(everything)
        for key in self._counted:
            # Running totals: the figure of this cell is what grew since the last one.
            total = record.get(key, 0)
            record[f"{key}_since"] = total - self._counted[key]
            self._counted[key] = total
        return record

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def tree_stats(pid: int) -> dict[str, float]:
    """``process_stats`` of a process and its live children added up (our end runs several
    FastAGI processes under one parent; a child's CPU counts in its parent only once reaped)."""
    total = process_stats(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        try:
            stats = process_stats(int(child))
        except OSError:
            continue  # it ended meanwhile
        total = {key: total[key] + stats[key] for key in total}
    return total


class RssSampler:
    """The highest resident memory of a process, sampled twice a second in a thread."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.highest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self.pid and not self._stop.wait(0.5):
            self.highest = max(self.highest, tree_stats(self.pid)["rss_mib"])

    def stop(self) -> float:
        """Stop sampling; return the highest RSS seen (MiB)."""
        self._stop.set()
        self._thread.join()
        return self.highest


class PgWaitSampler:
    """What the PostgreSQL end's backends wait for: ``pg_stat_activity`` sampled every 50 ms
    in a thread while a cell runs (the wait event of every backend of the database, and the
    head of its statement)."""

    STATEMENT_HEAD = re.compile(
        r"^\s*(INSERT INTO \w+|UPDATE \w+|DELETE FROM \w+|RELEASE SAVEPOINT|\w+)", re.I
    )

    def __init__(self, url: str) -> None:
        self.ticks = 0
        self.max_busy = 0
        self.idle_in_transaction = 0
        self.running: dict[str, int] = {}
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._dsn = dsn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self._dsn, autocommit=True) as connection:
            while not self._stop.wait(0.05):
                rows = connection.execute(
                    "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend' AND state <> 'idle'"
                ).fetchall()
                self.ticks += 1
                self.max_busy = max(self.max_busy, len(rows))
                for state, kind, event, query in rows:
                    if state != "active":
                        self.idle_in_transaction += state.startswith("idle in transaction")
                        continue
                    head = self.STATEMENT_HEAD.match(query or "")
                    label = f"{head.group(1) if head else '?'}: " + (
                        f"{kind}/{event}" if kind else "running"
                    )
                    self.running[label] = self.running.get(label, 0) + 1

    def stop(self) -> dict[str, Any]:
        """Stop sampling; return the figures (``running``: samples of backends running a
        statement, by statement and wait event, most first)."""
        self._stop.set()
        self._thread.join()
        return {
            "ticks": self.ticks,
            "max_busy": self.max_busy,
            "idle_in_transaction_mean": self.idle_in_transaction / max(1, self.ticks),
            "running": sorted(self.running.items(), key=lambda item: -item[1]),
        }


def run_level(
    ami: AMIClient,
    tracker: Tracker,
    variant: str,
    concurrency: int,
    window_s: float,
    drain_s: float,
) -> list[Placed]:
    """Keep ``concurrency`` calls in flight for ``window_s``; return the calls placed."""
    destination = (
        "Local/s@bench-dialplan-menu/n" if variant == "dialplan" else "Local/s@tawasul-inbound/n"
    )
    placed: list[Placed] = []
    in_flight: set[str] = set()
    started = time.monotonic()
    window_end = started + window_s
    # The first calls arrive over two seconds, not in one instant.
    spacing = 2.0 / concurrency
    next_allowed = started
    while True:
        now = time.monotonic()
        with tracker.changed:
            for key in [key for key in in_flight if tracker.calls[key].ended is not None]:
                in_flight.discard(key)
        if now < window_end:
            while len(in_flight) < concurrency and time.monotonic() >= next_allowed:
                base = uuid.uuid4().hex
                call = Placed(f"{base}.2", f"{base}.1", time.monotonic())
                with tracker.changed:
                    tracker.calls[call.ivr_uniqueid] = call
                ami.originate(
                    destination,
                    context="bench-caller",
                    exten="s",
                    caller_id=CALLER_ID,
                    variables={"SIM_SCRIPT": caller_script()},
                    channel_id=call.caller_uniqueid,
                    other_channel_id=call.ivr_uniqueid,
                )
                placed.append(call)
                in_flight.add(call.ivr_uniqueid)
                if len(placed) < concurrency:
                    next_allowed += spacing
        elif not in_flight:
            break
        elif now > window_end + drain_s:
            # Stuck calls count as failures; hang them up so the next level starts clean.
            ami.action("Hangup", {"Channel": "/^Local\\/s@(tawasul-inbound|bench-dialplan)/"})
            time.sleep(1)
            break
        with tracker.changed:
            tracker.changed.wait(0.05)
    return placed


def outcomes(database_url: str, calls: list[Placed]) -> dict[str, str]:
    """How each call ended according to the database (``Call.outcome``)."""
    engine = create_engine(database_url)
    ids = [call.ivr_uniqueid for call in calls]
    found: dict[str, str] = {}
    with engine.connect() as connection:
        for start in range(0, len(ids), 500):
            rows = connection.execute(
                select(Call.uniqueid, Call.outcome).where(
                    Call.uniqueid.in_(ids[start : start + 500])
                )
            )
            found.update({uniqueid: str(outcome) for uniqueid, outcome in rows})
    engine.dispose()
    return found


def cell_figures(
    variant: str,
    concurrency: int,
    calls: list[Placed],
    cpu: dict[str, float],
    server: dict[str, Any] | None,
    database_url: str,
) -> dict[str, Any]:
    """Rate, call time, failures and CPU of one variant at one level."""
    if variant.startswith("ours") or variant == "spawn":
        by_id = outcomes(POSTGRES_URL if "-pg" in variant else database_url, calls)
        ok = [c for c in calls if by_id.get(c.ivr_uniqueid) == CallOutcome.REQUEST_FILED.value]
    elif variant == "dialplan":
        ok = [c for c in calls if c.result == "DONE"]
    else:
        failed_on_server = server["calls_failed"] if server else 0
        ended = [c for c in calls if c.ended is not None]
        ok = ended[: max(0, len(ended) - failed_on_server)]
    durations = [c.ended - c.started for c in ok if c.ended is not None]
    every = [c.ended - c.started for c in calls if c.ended is not None]
    # Little's law: with N calls kept in flight, completions per second = N / mean call time;
    # only the successful share counts.
    rate = concurrency * len(ok) / len(calls) / statistics.mean(every) if every else float("nan")
    done = max(len(calls), 1)
    cpu_per_call = (cpu["asterisk"] + cpu.get("server", 0.0)) / done
    # What the box could carry if calls took no caller time at all: every core busy with
    # Asterisk's and the AGI end's work per call.
    ceiling = (os.cpu_count() or 1) / cpu_per_call if cpu_per_call else float("nan")
    return {
        "calls": len(calls),
        "failed": len(calls) - len(ok),
        "calls_per_s": rate,
        "cpu_ceiling_calls_per_s": ceiling,
        "call_s_p50": percentile(durations, 0.5),
        "call_s_p99": percentile(durations, 0.99),
        "asterisk_cpu_ms_per_call": cpu["asterisk"] * 1000 / done,
        "server_cpu_ms_per_call": cpu.get("server", 0.0) * 1000 / done,
        "server_rss_mib_max": cpu.get("server_rss_max", float("nan")),
        "agi_rtt_ms_p50": percentile(server["control_rtt_ms"], 0.5) if server else float("nan"),
        "agi_rtt_ms_p99": percentile(server["control_rtt_ms"], 0.99) if server else float("nan"),
        "think_ms_p50": percentile(server["think_ms"], 0.5) if server else float("nan"),
        "think_ms_p99": percentile(server["think_ms"], 0.99) if server else float("nan"),
        "db_commits_per_call": _per_call(server, "db_commits"),
        "db_statements_per_call": _per_call(server, "db_statements"),
        "db_connects_per_call": _per_call(server, "db_connects"),
        **step_database_figures(server),
    }


def step_database_figures(server: dict[str, Any] | None) -> dict[str, Any]:
    """How the steps that wrote spent their time: the wait for SQLite's write lock (``BEGIN
    IMMEDIATE``) and its hold (BEGIN to the end of COMMIT), per step that began a write
    transaction; and of the late steps (over ``LATE_STEP_MS``), how many wrote and what share
    of their time was the lock wait."""
    nan = float("nan")
    if not server or not server.get("step_transactions"):
        return {}
    steps = list(
        zip(
            server["think_ms"],
            server["step_lock_wait_ms"],
            server["step_lock_hold_ms"],
            server["step_transactions"],
            strict=False,
        )
    )
    writing = [(think, wait, hold) for think, wait, hold, began in steps if began]
    late = [(think, wait, began) for think, wait, _hold, began in steps if think > LATE_STEP_MS]
    late_time = sum(think for think, _, _ in late)
    return {
        "writing_steps": len(writing),
        "lock_wait_ms_p50": percentile([w for _, w, _ in writing], 0.5),
        "lock_wait_ms_p99": percentile([w for _, w, _ in writing], 0.99),
        "lock_hold_ms_p50": percentile([h for _, _, h in writing], 0.5),
        "lock_hold_ms_p99": percentile([h for _, _, h in writing], 0.99),
        "writing_step_ms_p99": percentile([t for t, _, _ in writing], 0.99),
        "late_steps": len(late),
        "late_steps_writing": sum(1 for _, _, began in late if began),
        "late_lock_wait_share": (
            sum(wait for _, wait, _ in late) / late_time if late_time else nan
        ),
        "late_lock_hold_share": (
            sum(row[2] for row in server.get("late_steps", [])) / late_time if late_time else nan
        ),
        "late_cpu_share": (
            sum(row[4] for row in server.get("late_steps", [])) / late_time if late_time else nan
        ),
        "commit_ms_p50": percentile(server.get("commit_ms", []), 0.5),
        "commit_ms_p99": percentile(server.get("commit_ms", []), 0.99),
        "commit_ms_max": max(server.get("commit_ms", []) or [nan]),
        "late_steps_by_command": _count_commands(server.get("late_steps", [])),
    }


def _count_commands(late: list[list[Any]]) -> dict[str, int]:
    """How many late steps ended with each command (which step of the flow is late)."""
    counts: dict[str, int] = {}
    for *_, label in late:
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def _per_call(server: dict[str, Any] | None, key: str) -> float:
    """Database commits (or statements) per call the server finished in this cell."""
    if not server or not server.get("calls_finished_since") or f"{key}_since" not in server:
        return float("nan")
    return float(server[f"{key}_since"]) / float(server["calls_finished_since"])


def main(argv: list[str] | None = None) -> int:
    """Run every variant at every level, write bench/results/calls.{json,md,png}."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="10,100,200,400")
    parser.add_argument("--window", type=float, default=8.0, help="seconds per level")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--pg-levels", default="100,200,400", help="levels at which ours-pg runs (beside ours)"
    )
    parser.add_argument(
        "--one-levels",
        default="200",
        help="levels at which ours-1 and ours-pg-1 (one FastAGI process, as before "
        "--processes) run",
    )
    parser.add_argument("--profile", action="store_true", help="also profile our server")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite calls.md from calls.json"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        record = json.loads((RESULTS / "calls.json").read_text())
        figures = record["figures"]
        results = {
            variant: {int(level): cell for level, cell in cells.items()}
            for variant, cells in figures["results"].items()
        }
        report(
            results,
            figures["levels"],
            list(results),
            figures["idle_rss"],
            args,
            figures.get("commit_costs", []),
        )
        # The figures are the measuring run's: keep its command and machine.
        rewritten = json.loads((RESULTS / "calls.json").read_text())
        rewritten.update(command=record["command"], machine=record["machine"])
        (RESULTS / "calls.json").write_text(json.dumps(rewritten, indent=2, ensure_ascii=False))
        return 0
    levels = [int(level) for level in args.levels.split(",")]
    variants = [variant for variant in args.variants.split(",") if variant]

    settings, harness, env = start_bench_asterisk()
    env["BENCH_RECORD"] = env["BENCH_COMMANDS"] = str(WORK / "commands.agi")
    # Recorded afresh by this run's warm-up call: a file left by an earlier run (another flow,
    # a failed warm-up) would have the minimal end replay the wrong commands.
    (WORK / "commands.agi").unlink(missing_ok=True)
    ami = AMIClient("127.0.0.1", AMI_PORT, settings.ami_username, harness.ami_secret())
    ami.start()
    tracker = Tracker()
    ami.add_listener(tracker.on_event)
    servers: dict[str, ServerProcess] = {}
    results: dict[str, dict[int, dict[str, Any]]] = {variant: {} for variant in variants}
    idle_rss: dict[str, float] = {}
    costs: list[dict[str, Any]] = []
    try:
        servers["ours"] = ServerProcess("ours", env)
        idle_rss["ours"] = tree_stats(servers["ours"].process.pid)["rss_mib"]
        # One warm-up call through our flow records the command sequence the minimal server
        # replays, and proves the set-up before anything is measured.
        _set_agi(harness, "ours")
        calls = run_level(ami, tracker, "ours", 1, 0.1, 60)
        warm = outcomes(settings.database_url, calls)
        if list(warm.values()) != [CallOutcome.REQUEST_FILED.value]:
            raise RuntimeError(f"the warm-up call did not file its request: {warm}")
        servers["ours"].stats()
        if {"ours-pg", "ours-pg-1"} & set(variants):
            empty_postgres_database(POSTGRES_URL)  # the first server migrates it
        for mode in ("minimal", "spawn", "ours-pg", "ours-1", "ours-pg-1"):
            if mode in variants:
                mode_env = dict(env)
                if "-pg" in mode:
                    mode_env["TAWASUL_DATABASE_URL"] = POSTGRES_URL
                if mode.endswith("-1"):
                    # The server as it was before --processes: one process for every call.
                    mode_env["BENCH_PROCESSES"] = "1"
                servers[mode] = ServerProcess(mode, mode_env)
                idle_rss[mode] = tree_stats(servers[mode].process.pid)["rss_mib"]
        asterisk_pid = harness.running_pid()
        assert asterisk_pid is not None
        given_up: dict[str, int] = {}
        for level in levels:
            for variant in variants:
                if variant == "ours-pg" and str(level) not in args.pg_levels.split(","):
                    continue
                if variant.endswith("-1") and str(level) not in args.one_levels.split(","):
                    continue
                if variant in given_up:
                    continue
                if variant != "dialplan":
                    _set_agi(harness, variant)
                server = servers.get(variant)
                before_a = process_stats(asterisk_pid)["cpu_s"]
                before_s = tree_stats(server.process.pid)["cpu_s"] if server else 0.0
                sampler = RssSampler(server.process.pid if server else None)
                waits = PgWaitSampler(POSTGRES_URL) if "-pg" in variant else None
                calls = run_level(ami, tracker, variant, level, args.window, drain_s=20)
                rss_max = sampler.stop()
                pg_waits = waits.stop() if waits else None
                cpu = {"asterisk": process_stats(asterisk_pid)["cpu_s"] - before_a}
                if server:
                    cpu["server"] = tree_stats(server.process.pid)["cpu_s"] - before_s
                    cpu["server_rss_max"] = rss_max
                figures = cell_figures(
                    variant,
                    level,
                    calls,
                    cpu,
                    server.stats() if server else None,
                    settings.database_url,
                )
                if pg_waits:
                    figures["pg_waits"] = pg_waits
                results[variant][level] = figures
                # An end that lost most of its calls at one level would only lose more at the
                # next (process-per-call: any): past it, the run's time is better spent.
                if figures["failed"] > (0 if variant == "spawn" else figures["calls"] / 2):
                    given_up[variant] = level
                print(f"{variant:>8} @ {level:>3}: {json.dumps(figures)}", flush=True)
                _clean_spool(harness)
        if {"ours-pg", "ours-pg-1"} & set(variants):
            costs = commit_costs(settings.database_url)
        if args.profile:
            profile_ours(harness, ami, tracker, env)
    finally:
        for server in servers.values():
            server.stop()
        ami.close()
        harness.down()
    report(results, levels, variants, idle_rss, args, costs)


def _pg_waits_said(cell: dict[str, Any] | None, which: str) -> str:
    """A sentence on what a PostgreSQL cell's backends waited for (:class:`PgWaitSampler`)."""
    waits = (cell or {}).get("pg_waits")
    if not waits or not waits["running"]:
        return ""
    total = sum(count for _label, count in waits["running"])
    top = ", ".join(f"`{label}` {count / total:.0%}" for label, count in waits["running"][:4])
    return (
        f" In this run, {which} ({waits['ticks']} samples of `pg_stat_activity`): of the "
        f"samples of backends running a statement, {top}; "
        f"{waits['idle_in_transaction_mean']:.1f} backends on average idle in a transaction "
        f"(waiting for their FastAGI thread), at most {waits['max_busy']} busy at once."
    )


def profile_ours(harness: Harness, ami: AMIClient, tracker: Tracker, env: dict[str, str]) -> None:
    """Where our server's CPU goes: a separate cell of 40 calls under cProfile (thread CPU
    time), written to bench/results/calls-profile.txt. Separate because profiling slows the
    server down: the measured cells run without it."""
    output = RESULTS / "calls-profile.txt"
    server = ServerProcess("ours-profiled", {**env, "BENCH_PROFILE": str(output)})
    try:
        _set_agi(harness, "ours-profiled")
        run_level(ami, tracker, "ours", 40, 12, drain_s=60)
    finally:
        server.stop()
    print(f"profile of our server written to {output}")
    return 0


def commit_costs(sqlite_url: str, repeat: int = 300) -> list[dict[str, Any]]:
    """What one commit of a caller's answer costs the FastAGI process (``fill_in``), alone on
    an idle connection: SQLite, PostgreSQL with the pool's pre-ping (the default), and without
    it. CPU is this thread's (``time.thread_time``); the rest of the wall time is waiting."""
    from tawasul.db import make_engine, make_session_factory
    from tawasul.intake import IntakeService, NewRequest
    from tawasul.migrate import upgrade
    from tawasul.models import Language
    from tawasul.pii import PiiProtector, generate_key

    intake = IntakeService(PiiProtector.from_master_key(generate_key()))
    rows = []
    for name, url, options in (
        ("SQLite", sqlite_url, {}),
        ("PostgreSQL, pre-ping", POSTGRES_URL, {}),
        ("PostgreSQL, no pre-ping", POSTGRES_URL, {"pool_pre_ping": False}),
    ):
        engine = make_engine(url, **options)
        upgrade(engine)
        sessions = make_session_factory(engine)
        with sessions() as session:
            call = intake.open_call(session, uuid.uuid4().hex, CALLER_ID)
            new = NewRequest(national_id=next_national_id(), language=Language.EN, branch="riyadh")
            request = intake.start_partial_request(session, new, call)
            cpu, wall = time.thread_time(), time.perf_counter()
            for index in range(repeat):
                intake.fill_in(session, request, target_official=("deputy", "minister")[index % 2])
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        engine.dispose()
        rows.append(
            {
                "database": name,
                "cpu_ms": cpu * 1000 / repeat,
                "wall_ms": wall * 1000 / repeat,
            }
        )
    return rows


def _set_agi(harness: Harness, variant: str) -> None:
    harness.cli(f"dialplan set global TAWASUL_AGI_URL agi://127.0.0.1:{PORTS[variant]}")


def _clean_spool(harness: Harness) -> None:
    for path in (harness.root / "var/spool/asterisk/tawasul").glob("*.wav"):
        path.unlink(missing_ok=True)


def report(
    results: dict[str, dict[int, dict[str, Any]]],
    levels: list[int],
    variants: list[str],
    idle_rss: dict[str, float],
    args: argparse.Namespace,
    costs: list[dict[str, Any]] | None = None,
) -> None:
    """Write the section of BENCHMARKS.md, the JSON and the plot."""
    costs = costs or []
    rows = []
    for level in levels:
        for variant in variants:
            f = results[variant].get(level)
            if f is None:
                continue
            rows.append(
                [
                    level,
                    variant,
                    f["calls"],
                    f["failed"],
                    f["calls_per_s"],
                    f["cpu_ceiling_calls_per_s"],
                    f["call_s_p50"],
                    f["call_s_p99"],
                    f["agi_rtt_ms_p50"],
                    f["agi_rtt_ms_p99"],
                    f["think_ms_p50"],
                    f["think_ms_p99"],
                    f["asterisk_cpu_ms_per_call"],
                    f["server_cpu_ms_per_call"],
                    f.get("db_commits_per_call", float("nan")),
                    f["server_rss_mib_max"],
                ]
            )
    header = [
        "in flight",
        "end",
        "calls",
        "failed",
        "calls/s",
        "CPU ceiling calls/s",
        "call s p50",
        "call s p99",
        "AGI rtt ms p50",
        "p99",
        "server ms/step p50",
        "p99",
        "Asterisk CPU ms/call",
        "server CPU ms/call",
        "DB commits/call",
        "server RSS MiB",
    ]
    claims = goals(results, levels, costs)
    markdown = "\n".join(
        [
            "## Phone intake through real Asterisk",
            "",
            "```",
            "make bench   # or: .venv/bin/python -m bench.calls",
            "```",
            "",
            "Scripted callers on Local channels file a whole new request (language, ID and its "
            "read-back, category, official, meeting mode, callback number, a voice message, "
            "save, reference read back twice) with keys sent by `SendDTMF`; every prompt and "
            "digit sound is 20 ms of silence, so a call lasts as long as its caller's keys "
            f"(11 to 14 s). Each level keeps N calls in flight for {args.window:g} s, then lets "
            "them finish. A call succeeds when the database says `request_filed` (ours, "
            "spawn), the menu's own end event fires (dialplan), or every replayed command got "
            "`200` (minimal).",
            "",
            "- *calls/s*: successful calls per second at that concurrency, by Little's law "
            "(N x success share / mean call time);",
            "- *CPU ceiling calls/s*: the cores divided by the CPU seconds Asterisk and the AGI "
            "end spent per call: the rate this box could carry if callers took no time, "
            "measured as CPU, not with a stopwatch, so it holds on a noisy machine;",
            "- *AGI rtt*: round trip of the commands that do not wait for the caller (SET/GET "
            "VARIABLE...); *server ms/step*: time from Asterisk's reply to our next command "
            "(script logic and database);",
            "- ends: `dialplan` (no AGI), `minimal` (FastAGI replaying our commands, no logic, "
            "no database), `ours` (`tawasul agi-server` as it runs by default: one FastAGI "
            "process per core sharing the port, SQLite), `ours-pg` (the same on PostgreSQL), "
            "`ours-1` and `ours-pg-1` (one FastAGI process for every call, as before "
            "`--processes`), "
            "`spawn` (process-per-call pyst2). An end stops at the first level where it loses "
            "more than half its calls (process-per-call: any), since the next would only lose "
            "more; *server CPU* and *RSS* add up every process of an end;",
            "- *DB commits/call*: database commits the FastAGI processes made per call they "
            "finished in that cell;",
            "- a *failed* call is one whose caller's key was lost: Asterisk drops keys pressed "
            "while an AGI script is between two commands, and these callers press 0.5 s after "
            "the last key whatever they hear. A late step is what a real caller hears as dead "
            "air before the next prompt; these callers give up on it at once.",
            "",
            table(header, rows),
            "",
            f"Idle resident memory: our FastAGI server {idle_rss.get('ours', float('nan')):.0f} "
            "MiB (every process: the parent and one child per core), one process "
            f"{idle_rss.get('ours-1', float('nan')):.0f} MiB, minimal server "
            f"{idle_rss.get('minimal', float('nan')):.0f} MiB.",
            "",
            "![calls per second by concurrency](bench/results/calls.png)",
            "",
            *claims,
        ]
    )
    write_result(
        "calls",
        markdown,
        {"levels": levels, "results": results, "idle_rss": idle_rss, "commit_costs": costs},
    )
    plot(results, levels, variants)


def goals(
    results: dict[str, dict[int, dict[str, Any]]],
    levels: list[int],
    costs: list[dict[str, Any]] | None = None,
) -> list[str]:
    """The issue's goals, each with its verdict from this run."""
    lines = ["Goals:"]

    def rate(variant: str, level: int) -> float:
        return float(results.get(variant, {}).get(level, {}).get("calls_per_s", float("nan")))

    def cell(variant: str, level: int) -> dict[str, Any]:
        return results.get(variant, {}).get(level, {})

    ours_ok = [lv for lv in levels if cell("ours", lv).get("failed") == 0]

    def ceiling(variant: str) -> float:
        # The median over levels: CPU per call is much the same at every level. Not a level
        # where the end lost more than half its calls: a call that died early cost little, so
        # its CPU per call says nothing of what a whole call costs.
        values = [
            float(figures["cpu_ceiling_calls_per_s"])
            for figures in results.get(variant, {}).values()
            if figures.get("failed", 0) * 2 <= figures.get("calls", 0)
        ]
        return median([v for v in values if v == v] or [float("nan")])

    if "minimal" in results and "ours" in results:
        ratio = ceiling("ours") / ceiling("minimal")
        lines.append(
            f"- ours / minimal, CPU ceiling: {ceiling('ours'):.1f} / {ceiling('minimal'):.1f} "
            f"calls/s = {ratio:.2f} ({'✅' if ratio >= 0.5 else '❌'} goal ≥ 0.5)"
        )
    if "spawn" in results and "ours" in results:
        ratio = ceiling("ours") / ceiling("spawn")
        lines.append(
            f"- ours / process-per-call, CPU ceiling: {ceiling('ours'):.1f} / "
            f"{ceiling('spawn'):.1f} calls/s = {ratio:.1f} "
            f"({'✅' if ratio >= 10 else '❌'} goal ≥ 10)"
        )
    for level in (200, 400):
        dialplan = cell("dialplan", level)
        # The goal holds where the pure dialplan, with no AGI at all, keeps every key.
        excused = bool(dialplan) and dialplan["failed"] > 0
        for variant in ("ours", "ours-pg"):
            figures = cell(variant, level)
            if not figures:
                if level in levels and variant in results and variant in ("ours", "ours-pg"):
                    lines.append(
                        f"- {variant}: not run at {level} in flight (it had lost more than "
                        "half its calls at a lower level)"
                    )
                continue
            if excused:
                verdict = (
                    f"no goal at this level: the pure dialplan lost {dialplan['failed']} of "
                    f"{dialplan['calls']} itself"
                )
            else:
                verdict = f"{'✅' if figures['failed'] == 0 else '❌'} goal 0"
            lines.append(
                f"- {variant}: failed calls at {level} in flight: {figures['failed']} of "
                f"{figures['calls']} ({verdict})"
            )
    for one_name, several_name in (("ours-1", "ours"), ("ours-pg-1", "ours-pg")):
        one, several = cell(one_name, 200), cell(several_name, 200)
        if one and several:
            lines.append(
                f"- {several_name}, one FastAGI process against one per core, side by side at "
                f"200 in flight: {one['failed']} against {several['failed']} failed calls, "
                f"p99 server ms/step {one['think_ms_p99']:,.0f} against "
                f"{several['think_ms_p99']:,.0f}"
            )
    commits = [
        float(f["db_commits_per_call"])
        for variant in ("ours", "ours-pg", "ours-1", "ours-pg-1")
        for f in results.get(variant, {}).values()
        if f.get("db_commits_per_call", float("nan")) == f.get("db_commits_per_call")
    ]
    if commits:
        lines.append(
            f"- database commits per call: {median(commits):.1f} (median over the cells; "
            "10 before this issue: see below)"
        )
    if ours_ok:
        top = max(ours_ok)
        per_hour = rate("ours", top) * 3600
        lines.append(
            f"- capacity: with 0 failures up to {top} calls in flight, this box files "
            f"{per_hour:,.0f} requests an hour through the menu, {per_hour / 80:,.0f} times the "
            "seed centre's 80 callers an hour (those callers talk for minutes, not seconds: "
            "what limits a centre is agents, not this machinery)."
        )
    lines += ["", *why(results, costs or [])]
    return lines


def why(results: dict[str, dict[int, dict[str, Any]]], costs: list[dict[str, Any]]) -> list[str]:
    """Where the time goes, and why PostgreSQL collapsed where SQLite only degraded."""
    lines = [
        "Where the time goes ([profile of our server](bench/results/calls-profile.txt), CPU "
        "time of 40 calls' threads; [where the PostgreSQL end's threads wait]"
        "(bench/results/calls-pg-waits.txt), py-spy of its processes at 200 in flight):",
        "",
        "- Asterisk's own work per call (two Local channels and their 20 ms media frames for "
        "11 to 14 s: the *Asterisk CPU* column) is the bulk of every end's cost, ours "
        "included. The process-per-call end pays about a second of CPU per call to start an "
        "interpreter and import the project.",
        "- A key is lost when our step (*server ms/step*) outlasts the half second these "
        "callers wait before their next key. With one FastAGI process every call's thread "
        "queued for one interpreter lock; `tawasul agi-server` now runs one process per core "
        "on one port (a parent that listens, children that take the calls in turn, "
        "`tawasul_cli/agi_pool.py`), so the calls are spread over as many interpreters as "
        "there are cores.",
        "- Fewer commits: a filed request took 12 session commits (the call, the language, "
        "the duplicate check, the partial request, five answers one by one, the filing, the "
        "end of the call), 10 of them reaching the database (the previous profile: 420 "
        "SQLite commits for 42 calls). Now four write transactions: the call's record "
        "before the first prompt, the partial request when the ID is confirmed, the filing "
        "(every answer, the voice message, the SMS and forwarding owed) before the reference "
        "is read back, and the end of the call; the language goes with the next of them, and "
        "the look-ups (the caller's open requests) read in a transaction that takes no write "
        "lock. The *DB commits/call* column counts them (calls that failed midway count too). "
        "A caller who hangs up keeps every answer (the end of the call writes them); only a "
        "server killed mid-call loses the answers since the partial request.",
        "- Fewer flushes: each of SQLAlchemy's flushes is a unit of work (sorting the "
        "changed rows, one statement each, the flush listeners), and most of them ran under "
        "SQLite's write lock. A filed call made nine: the call's steps written before the "
        "requester's look-up, the requester and the request each behind a savepoint of its "
        "own then an UPDATE marking the request partial, and the filing's SMS and forwarding "
        "flushed one by one before its commit. Now six (26 statements a call, 22 now): the "
        "requester and the request are inserted partial, together, behind one savepoint, "
        "and the filing's request, audit event, outbox rows and call are one flush at its "
        "commit.",
    ]
    by_name = {row["database"]: row for row in costs}
    sqlite = by_name.get("SQLite")
    ping = by_name.get("PostgreSQL, pre-ping")
    bare = by_name.get("PostgreSQL, no pre-ping")
    if sqlite and ping and bare:
        lines.append(
            "- Why PostgreSQL collapsed where SQLite only degraded (measured here: one "
            "commit of one answer, alone on an idle connection): SQLite "
            f"{sqlite['cpu_ms']:.2f} ms of CPU, {sqlite['wall_ms']:.2f} ms in all; PostgreSQL "
            f"{ping['cpu_ms']:.2f} ms of CPU, {ping['wall_ms']:.2f} ms in all "
            f"({bare['cpu_ms']:.2f} / {bare['wall_ms']:.2f} ms without the pool's pre-ping). "
            "Each PostgreSQL commit is four round trips to another process (the pre-ping's "
            "ping, BEGIN, the statement, COMMIT), and each returns to a thread that must "
            "win back the interpreter lock; SQLite does the same work inside the process. "
            "With hundreds of calls on two cores shared with Asterisk and PostgreSQL's own "
            "backends, every round trip also waits for the backend to be scheduled, so a "
            "step's wall time grows with the round trips, not with the CPU: with one process "
            "and twelve commits a call, PostgreSQL's steps passed the half second first. The "
            "pre-ping is kept: its round trip is what lets a call survive a PostgreSQL "
            "restart without a failed step, and its cost is within this shared box's noise "
            f"({ping['wall_ms']:.2f} ms a commit with it, {bare['wall_ms']:.2f} ms without)."
        )
    lines.append(
        "- The pool made PostgreSQL worse: the engine's default (10 connections kept, 40 more "
        "on demand) opened a new connection for each transaction past the tenth at once and "
        "closed it when it came back, so under load every step risked a backend fork and an "
        "authentication; at 200 in flight opening connections was a sixth of the time the "
        "PostgreSQL end's call threads spent outside Asterisk "
        "([py-spy](bench/results/calls-pg-waits.txt)). The FastAGI processes now keep a "
        "fixed set of connections (60 between them) that a call waits for instead; "
        "*connections per call* below is what they opened in each cell."
    )
    connects = {
        variant: f.get("db_connects_per_call")
        for variant in ("ours", "ours-pg", "ours-1", "ours-pg-1")
        for level, f in results.get(variant, {}).items()
        if level == 200
    }
    if any(value == value and value is not None for value in connects.values()):
        lines.append(
            "- Connections opened per call at 200 in flight: "
            + ", ".join(f"{v} {c:.2f}" for v, c in connects.items() if c is not None and c == c)
            + " (the pool filling once, not a connection per transaction)."
        )
    pg = results.get("ours-pg", {}).get(200)
    if pg and pg["failed"] == 0:
        lines.append(
            "- The PostgreSQL collapse is gone: 186 of 200 calls failed at 200 in flight "
            "before this issue, 0 here, with fewer commits and the fixed pool (in one process "
            "too: the `ours-pg-1` line)."
        )
    lines += write_lock_lines(results)
    sqlite = results.get("ours", {}).get(200)
    if sqlite and sqlite["failed"] and "lock_wait_ms_p99" not in sqlite:
        lines.append(
            "- SQLite is now the end that loses keys at 200, and its write lock is why: "
            "nine tenths of its call threads' time outside Asterisk is the `BEGIN IMMEDIATE` "
            "that opens every SQLite transaction (`tawasul/db.py`), waiting for the lock "
            "([py-spy](bench/results/calls-pg-waits.txt)). The lock is one for the file, "
            "across processes, and a connection that finds it taken sleeps in SQLite's busy "
            "handler (1 to 100 ms a time) however soon it is free; meanwhile the holder, its "
            "work interleaved with a hundred other calls' threads, holds it for longer than "
            "its statements take. What would move it: reads that take no write lock (the "
            "IVR's look-ups open with `BEGIN IMMEDIATE` today, like the API's), the personal "
            "data encrypted and fingerprinted before the transaction rather than inside it, "
            "a lock the FastAGI processes wait on and are woken by instead of the busy "
            "handler's sleeps, or PostgreSQL, which a centre at this scale would run anyway."
        )
    one, several = results.get("ours-1", {}).get(200), results.get("ours", {}).get(200)
    if one and several and one["failed"] < several["failed"]:
        lines.append(
            "- On this box one process lost fewer calls than one per core at 200 in flight "
            "(the `ours-1` line above). Every core here is already busy with Asterisk and, on "
            "a shared machine, with other work: a second interpreter adds its own CPU per "
            "call (the *server CPU* column) and gives the calls no core they did not have; "
            "SQLite's write lock is also shared between processes, where a writer that finds "
            "it taken sleeps in SQLite's busy handler (1 to 100 ms at a time) instead of "
            "being woken. The processes pay where a core is left idle by Asterisk: on a "
            "bigger box, or with Asterisk on its own machine. `--processes 1` keeps the "
            "single process."
        )
    dialplan = results.get("dialplan", {}).get(400)
    if dialplan and dialplan["failed"]:
        lines.append(
            f"- At 400 in flight even the pure dialplan loses keys ({dialplan['failed']} of "
            f"{dialplan['calls']}): two cores are Asterisk's ceiling for these callers, so no "
            "AGI end can be held to zero there."
        )
    pg, pg_one = results.get("ours-pg", {}).get(200), results.get("ours-pg-1", {}).get(200)
    if pg and pg_one:
        lines.append(
            "- PostgreSQL with one FastAGI process per core, against one process, at 200 in "
            f"flight in this run: {pg['failed']} against {pg_one['failed']} failed calls "
            f"(p99 server ms/step {pg.get('think_ms_p99', float('nan')):,.0f} against "
            f"{pg_one.get('think_ms_p99', float('nan')):,.0f}). The `make bench` before the fix "
            "had the per-core end lose 121 of 200 (one process: 0), 143 of its 144 late steps "
            "`SET VARIABLE TAWASUL_REFERENCE`, the step after the filing's commit. Measured "
            "then with `pg_stat_activity` and `pg_locks` sampled every 50 ms at 200 in flight "
            "(on the shared two-core box, where one process lost 92 of 200 in that run too): "
            "95% of the samples of backends running a statement were the `request_tally` "
            "upsert waiting for another transaction's lock on its row (93% with one process), "
            "all 60 pooled connections busy, the holders idle in transaction waiting for their "
            "Python threads. Every filing moves its request in the same tally row (branch, "
            "phone, received), and the row was written at the filing's first flush and kept "
            "locked until its COMMIT, several statements later, each a round trip back to a "
            "thread that had to win a core and its process's interpreter lock among a hundred "
            "others. Fixed in three steps, each measured the same way at 200 in flight: the "
            "tally deltas written as the last statement before COMMIT (`tawasul.models.requests`"
            ": per core 95 failed calls to 0, one process 92 to 18, its waits still 71% on the "
            "tally row, then held for one round trip); that upsert sent with the COMMIT in one "
            "round trip (`tawasul.db.execute_last`; measured with psycopg's pipeline mode, "
            "since replaced by one message, which a preempted thread cannot split: one "
            "process 18 to 0); and the outbox's wake-up `NOTIFY` sent after the commit by a "
            "thread of its own "
            "(`tawasul.outbox.PostgresWaker`) instead of inside the filing's transaction, "
            "because PostgreSQL commits a transaction that has notified under one lock for the "
            "whole database, held through its flush to disk: with the tally fixed, 37% of the "
            "busy backends' samples were COMMITs waiting for it; after, none, and what the "
            "COMMITs wait for is the disk (WALWrite / WALSync, 70%), then the tally row behind "
            "a commit's flush (19%), since spread over shards (below)."
            + _pg_waits_said(pg, "per core")
            + _pg_waits_said(pg_one, "one process")
        )
    pg_400, ours_400 = results.get("ours-pg", {}).get(400), results.get("ours", {}).get(400)
    if pg_400:
        lines.append(
            f"- At 400 in flight PostgreSQL lost {pg_400['failed']} of {pg_400['calls']} "
            + (f"(SQLite {ours_400['failed']}) " if ours_400 else "")
            + f"with a CPU ceiling of {pg_400['cpu_ceiling_calls_per_s']:.0f} calls/s"
            + (
                f", about the {demand['calls_per_s']:.0f} calls a second the pure-dialplan "
                "menu carried at that level"
                if (demand := results.get("dialplan", {}).get(400))
                else ""
            )
            + ": the cores are nearly full. Every filing of the branch used to commit through "
            "the same tally row, each holding its lock through its commit's flush to disk, so "
            "the filings' commits could not share a flush (measured on the shared box: 350 to "
            "379 of 400 lost in three runs, the tally row's lock the first wait of the backends "
            "running a statement, 61 to 68% of their samples); the same queue made one process "
            "per core lose 10 to 92 of 200 in flight where one process lost 0 to 21 when other "
            "work took a core. The tally is now kept over 16 rows a key, each connection adding "
            "to its own (`tawasul.tally.shard_of`, migration 0019, counts summed on read): in "
            "one run on the shared box afterwards, 232 of 400 lost per core (one process 357), "
            "the row lock 17% of the per-core end's samples and the disk's flush (WALWrite / "
            "WALSync, the upsert and COMMIT being one message) 57%. What would move it: "
            "commits that share a flush (`commit_delay`, or `synchronous_commit` off for the "
            "filing at the risk of its last few hundred milliseconds), more shards or a shard "
            "picked among the unlocked ones, and less CPU per call."
            + _pg_waits_said(pg_400, "at 400")
        )
    lines.append(
        "- A real centre is far from these levels: the seed centre's 80 callers an hour, six "
        "minutes each, are about eight calls in flight."
    )
    return lines


def write_lock_lines(results: dict[str, dict[int, dict[str, Any]]]) -> list[str]:
    """SQLite's write lock in each cell of ours: how long a step waited for it and held it, and
    what made the late steps late."""
    cells = [
        (variant, level, f)
        for variant in ("ours", "ours-1")
        for level, f in sorted(results.get(variant, {}).items())
        if f.get("writing_steps")
    ]
    if not cells:
        return []
    lines = [
        "- SQLite's write lock, one for the whole file and every process: before this issue's "
        "write gate a step's `BEGIN IMMEDIATE` waited up to 1.2 s (p99) at 200 in flight for "
        "a lock each transaction held 1.6 ms (p50), 98% of the late steps' time: SQLite's "
        "busy handler sleeps (1, 2, 5 ... 100 ms) and tries again rather than being woken. "
        "Writers now wait in a gate (`tawasul.db.WriteGate`: a thread lock, then `flock` on "
        "a file beside the database) and are woken the moment the lock is given back "
        "(docs/deploy.md). Per step that wrote, in this run: "
        + "; ".join(
            f"{variant} at {level}: waited {f['lock_wait_ms_p50']:,.1f} / "
            f"{f['lock_wait_ms_p99']:,.0f} ms (p50 / p99), held {f['lock_hold_ms_p50']:,.1f} / "
            f"{f['lock_hold_ms_p99']:,.0f} ms, {f['late_steps']} steps over "
            f"{LATE_STEP_MS:.0f} ms"
            + (
                f" ({f['late_lock_wait_share']:.0%} of their time waiting for the lock)"
                if f["late_steps"]
                else ""
            )
            for variant, level, f in cells
        )
        + ". The slowest commits were checkpoints: SQLite has the writer whose COMMIT takes "
        "the write-ahead log past 1,000 pages copy it into the file and sync it, still "
        "holding the lock; a thread of each FastAGI process now checkpoints every second "
        "without the lock (`tawasul.db.WalCheckpointer`). What is left of the wait is "
        "queueing: the holds lengthen when the holder, "
        "between two statements, waits for a core or for its process's interpreter lock, "
        "and every writer of the box queues behind it. Where the writes per second times the "
        "hold approach one (400 in flight: about 120 writes a second, holds of 5 ms and more), "
        "the queue passes the callers' half second: what would move it is fewer or shorter "
        "write transactions still (the filing's statements, the end of the call), or "
        "PostgreSQL, whose writers of different rows do not wait for each other."
    ]
    return lines


def plot(
    results: dict[str, dict[int, dict[str, Any]]], levels: list[int], variants: list[str]
) -> None:
    """calls/s and p99 call time by concurrency, one line per end."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e '.[bench]')")
        return
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for variant in variants:
        xs = [lv for lv in levels if lv in results[variant]]
        left.plot(xs, [results[variant][lv]["calls_per_s"] for lv in xs], marker="o", label=variant)
        right.plot(xs, [results[variant][lv]["call_s_p99"] for lv in xs], marker="o", label=variant)
    left.set(xlabel="calls in flight", ylabel="successful calls / s", title="Throughput")
    right.set(xlabel="calls in flight", ylabel="call time p99 (s)", title="Call time")
    for axes in (left, right):
        axes.set_xscale("log")
        axes.set_xticks(levels, [str(lv) for lv in levels])
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(RESULTS / "calls.png", dpi=100)


if __name__ == "__main__":
    sys.exit(main())
