"""Job queue: from the commit of an SMS to the provider's HTTP call, and jobs per second.

The real pieces end to end: an SMS owed through the notifications API in its own transaction
(what every workflow action does), ``tawasul worker`` (relay thread, RQ, the SMS job, the HTTP
gateway provider) and a local stub gateway that notes when each call arrives. Beside it, in the
same worker process, RQ's own no-op job shows what the queue itself costs. The worker classes
are compared in the same run, trials interleaved: RQ's non-forking ``SimpleWorker`` (the
project's ``tawasul worker``) and RQ's default forking ``Worker`` (``bench.jobqueue_worker``).

Run: ``.venv/bin/python -m bench.jobqueue`` (about three minutes on two cores).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bench.common import (
    REPO,
    WORK,
    command_line,
    machine,
    median,
    percentile,
    process_stats,
    table,
    write_result,
)
from bench.jobqueue_jobs import noop
from jobqueue.connection import QUEUE_NAME
from jobqueue.relay import job_id
from tawasul.config import Settings, load_settings
from tawasul.db import empty_postgres_database, make_engine, make_session_factory
from tawasul.hours import WorkingHours
from tawasul.intake import IntakeService, NewRequest
from tawasul.migrate import upgrade
from tawasul.models import Language, OutboxMessage, OutboxStatus, Request
from tawasul.notifications import SmsStage, notify
from tawasul.pii import PiiProtector, generate_key
from tawasul_cli.redis_server import RedisServer

NAME = "jobqueue"
REDIS_PORT = 19079
GATEWAY_PORT = 19080
POSTGRES_URL = "postgresql+psycopg://tawasul:tawasul@127.0.0.1:5432/tawasul_bench_jobs"
GOAL_P50_MS = 20.0
WORKER_CLASSES = {
    "SimpleWorker": [str(REPO / ".venv" / "bin" / "tawasul"), "worker", "--no-ami"],
    "Worker (fork)": [sys.executable, "-m", "bench.jobqueue_worker", "--no-ami"],
}
SIMPLE, FORK = WORKER_CLASSES
STOP_S = 5.0
WAIT_S = 120.0
"""Longest wait for one message or one burst before the trial is declared stuck."""


# -- the stand-in SMS gateway -----------------------------------------------------------------


@dataclass
class Gateway:
    """An HTTP SMS gateway stub that notes when each message (by idempotency key) arrives."""

    port: int
    arrivals: dict[str, float] = field(default_factory=dict)
    _arrived: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where the worker's HTTP provider posts."""
        return f"http://127.0.0.1:{self.port}/messages"

    def start(self) -> Gateway:
        """Listen on the loopback port."""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                key = self.headers.get("Idempotency-Key", "")
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with gateway._arrived:
                    gateway.arrivals.setdefault(key, arrived)
                    gateway._arrived.notify_all()
                reply = json.dumps({"id": f"gw-{key}", "status": "accepted"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def wait(self, keys: Sequence[str], timeout_s: float = WAIT_S) -> list[float]:
        """Arrival times of the messages ``keys``, once all have arrived."""
        with self._arrived:
            if not self._arrived.wait_for(
                lambda: all(key in self.arrivals for key in keys), timeout_s
            ):
                missing = sum(key not in self.arrivals for key in keys)
                raise TimeoutError(f"{missing} of {len(keys)} SMS never reached the gateway")
            return [self.arrivals[key] for key in keys]

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# -- the database the app and the worker share -----------------------------------------------


def fresh_database(kind: str) -> str:
    """An empty, migrated database of ``kind`` (sqlite or postgresql); return its URL."""
    if kind == "sqlite":
        path = WORK / NAME / "tawasul.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (path, path.with_name("tawasul.db-wal"), path.with_name("tawasul.db-shm")):
            leftover.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = POSTGRES_URL
        empty_postgres_database(url)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def file_requests(sessions: sessionmaker[Session], pii: PiiProtector, count: int) -> list[int]:
    """``count`` requests, each with its own callback number (the SMS limit is per number).

    One is filed by the intake service; the others copy it in one transaction, which is quicker
    and changes nothing the SMS job reads. The filing's own SMS and forwarding are marked done:
    the benchmark times only the messages it sends itself.
    """
    with sessions() as session:
        first = IntakeService(pii).file_request(
            session,
            NewRequest("1000000008", Language.EN, "riyadh", callback_number="+966500000000"),
        )
        copies = [
            Request(
                reference_number=f"B{number:09d}",
                channel=first.channel,
                requester_id=first.requester_id,
                branch=first.branch,
                callback_number=f"+9665{number:08d}",
                language=Language.EN if number % 2 else Language.AR,
            )
            for number in range(1, count)
        ]
        session.add_all(copies)
        session.execute(update(OutboxMessage).values(status=OutboxStatus.DONE))
        session.commit()
        return [first.id, *(request.id for request in copies)]


def owe_sms(session: Session, request_ids: Sequence[int]) -> list[str]:
    """Owe each request its "in review" SMS in the session's transaction; return the keys the
    gateway will see (the SMS job's idempotency keys)."""
    keys = []
    requests = session.scalars(select(Request).where(Request.id.in_(request_ids))).all()
    for request in requests:
        row = notify(session, request, SmsStage.IN_REVIEW, {"reference": request.reference_number})
        assert row is not None
        keys.append(f"outbox-{row.id}")
    return keys


# -- one worker process under test ------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _pss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class WorkerProcess:
    """One ``tawasul worker`` (or its forking twin) in its own process group."""

    worker_class: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, redis: Redis) -> WorkerProcess:
        """Start it and wait until RQ has registered it."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                WORKER_CLASSES[self.worker_class],
                env=self.env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while not self._registered(redis):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {self.log_path}")
            time.sleep(0.05)
        return self

    def _registered(self, redis: Redis) -> set[str]:
        """The keys of the RQ workers this process has registered (one per generation)."""
        assert self.process is not None
        marker = f"-{self.process.pid}-"
        return {key for key in Worker.all_keys(connection=redis) if marker in key}

    def stats(self) -> dict[str, float]:
        """CPU seconds of the worker (its reaped work horses included), its resident memory
        (MiB), that of its children (RQ's scheduler), and the proportional share of both (PSS:
        pages they share count once, which RSS counts in each)."""
        assert self.process is not None
        own = process_stats(self.process.pid)
        children = 0.0
        pss = _pss_mib(self.process.pid)
        for child in _children(self.process.pid):
            with contextlib.suppress(OSError):
                children += process_stats(child)["rss_mib"]
                pss += _pss_mib(child)
        return {**own, "children_rss_mib": children, "pss_mib": pss}

    def stop(self, redis: Redis) -> None:
        """Stop it as an operator would (SIGTERM), then make sure nothing of it is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            first = self._registered(redis)
            self.process.send_signal(signal.SIGTERM)
            # An idle `tawasul worker` answers SIGTERM by starting its next RQ worker instead
            # of stopping (RQ 3 raises StopRequested without setting _stop_requested): wait for
            # it to stop or to start another generation, then stop it for good.
            deadline = time.monotonic() + STOP_S
            while self.process.poll() is None and time.monotonic() < deadline:
                if self._registered(redis) - first:
                    break
                time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        # A killed worker's scheduler keeps its lock for a minute: the next trial would run
        # without RQ's scheduler process (and its memory) for that long.
        redis.delete(RQScheduler.get_locking_key(QUEUE_NAME))


# -- the measurements -------------------------------------------------------------------------


def _stamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else float("nan")


def noop_pickup(queue: Queue, count: int, rng: random.Random) -> list[float]:
    """Enqueue RQ's no-op job one at a time; milliseconds from enqueue to start (RQ's stamps)."""
    pickups = []
    for _ in range(count):
        job = queue.enqueue(noop, result_ttl=600)
        deadline = time.monotonic() + WAIT_S
        while job.get_status(refresh=True) != JobStatus.FINISHED:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no-op job {job.id} did not finish")
            time.sleep(0.002)
        job = Job.fetch(job.id, connection=queue.connection)
        pickups.append((_stamp(job.started_at) - _stamp(job.enqueued_at)) * 1000)
        time.sleep(rng.uniform(0, 0.02))
    return pickups


def noop_burst(queue: Queue, redis: Redis, count: int) -> dict[str, float]:
    """Enqueue ``count`` no-op jobs at once; jobs per second until the last one is done."""
    handed = time.time()
    jobs = queue.enqueue_many([Queue.prepare_data(noop, result_ttl=600) for _ in range(count)])
    deadline = time.monotonic() + WAIT_S
    while jobs[-1].get_status(refresh=True) != JobStatus.FINISHED:
        if time.monotonic() > deadline:
            raise TimeoutError("the no-op burst did not finish")
        time.sleep(0.02)
    done = [job for job in Job.fetch_many([job.id for job in jobs], connection=redis) if job]
    last = max(_stamp(job.ended_at) for job in done)
    work = [(_stamp(job.ended_at) - _stamp(job.started_at)) * 1000 for job in done]
    return {"jobs_per_s": count / (last - handed), "job_ms": median(work)}


def sms_latency(
    sessions: sessionmaker[Session],
    gateway: Gateway,
    redis: Redis,
    request_ids: Sequence[int],
    rng: random.Random,
    relay_interval_s: float,
) -> list[dict[str, float]]:
    """Owe one SMS at a time; for each, milliseconds from its commit to the provider call,
    split into relay (commit to enqueue), pickup (enqueue to job start) and job (start to call).

    A random pause between messages (up to one relay interval) keeps the commits from falling
    at the same point of the relay's cycle each time.
    """
    sent = []
    for request_id in request_ids:
        with sessions() as session:
            (key,) = owe_sms(session, [request_id])
            session.commit()
            committed = time.time()
        (arrived,) = gateway.wait([key])
        sent.append((key, committed, arrived))
        time.sleep(rng.uniform(0, relay_interval_s))
    # RQ's job ids name the row, its hand-overs and when it became due (jobqueue.relay.job_id).
    with sessions() as session:
        rows = {
            f"outbox-{row.id}": job_id(row)
            for row in session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.id.in_([int(key.split("-")[1]) for key, _, _ in sent])
                )
            )
        }
    jobs = Job.fetch_many([rows[key] for key, _, _ in sent], connection=redis)
    samples = []
    for (_, committed, arrived), job in zip(sent, jobs, strict=True):
        enqueued = _stamp(job.enqueued_at) if job else float("nan")
        started = _stamp(job.started_at) if job else float("nan")
        samples.append(
            {
                "total": (arrived - committed) * 1000,
                "relay": (enqueued - committed) * 1000,
                "pickup": (started - enqueued) * 1000,
                "job": (arrived - started) * 1000,
            }
        )
    return samples


def sms_burst(
    sessions: sessionmaker[Session], gateway: Gateway, redis: Redis, request_ids: Sequence[int]
) -> dict[str, float]:
    """Owe ``len(request_ids)`` SMS in one commit; jobs per second until the last reaches the
    provider, and the median time one SMS job runs."""
    with sessions() as session:
        keys = owe_sms(session, request_ids)
        session.commit()
        committed = time.time()
    last = max(gateway.wait(keys))
    jobs = [job for job in Job.fetch_many([f"{key}-1" for key in keys], connection=redis) if job]
    work = [(_stamp(job.ended_at) - _stamp(job.started_at)) * 1000 for job in jobs]
    return {"jobs_per_s": len(keys) / (last - committed), "job_ms": median(work)}


# -- a run ------------------------------------------------------------------------------------


def _chunks(ids: list[int], sizes: Sequence[int]) -> Iterator[list[int]]:
    start = 0
    for size in sizes:
        yield ids[start : start + size]
        start += size


def trial(
    worker: WorkerProcess,
    args: argparse.Namespace,
    sessions: sessionmaker[Session],
    gateway: Gateway,
    redis: Redis,
    request_ids: list[int],
    rng: random.Random,
    relay_interval_s: float,
) -> dict[str, Any]:
    """One worker process through every measurement; return its figures."""
    queue = Queue(QUEUE_NAME, connection=redis)
    latency_ids, burst_ids = _chunks(request_ids, [args.latency, args.burst])
    worker.start(redis)
    try:
        time.sleep(0.5)  # let it settle: first relay passes made, RQ's scheduler started
        idle = worker.stats()
        figures: dict[str, Any] = {"idle": idle}
        figures["noop_pickup_ms"] = noop_pickup(queue, args.pickups, rng)
        before = worker.stats()
        figures["noop_burst"] = noop_burst(queue, redis, args.burst)
        after = worker.stats()
        figures["noop_burst"]["cpu_ms_per_job"] = (
            (after["cpu_s"] - before["cpu_s"]) * 1000 / args.burst
        )
        figures["sms_latency"] = sms_latency(
            sessions, gateway, redis, latency_ids, rng, relay_interval_s
        )
        before = worker.stats()
        figures["sms_burst"] = sms_burst(sessions, gateway, redis, burst_ids)
        after = worker.stats()
        figures["sms_burst"]["cpu_ms_per_job"] = (
            (after["cpu_s"] - before["cpu_s"]) * 1000 / args.burst
        )
        figures["after_burst"] = after
    finally:
        worker.stop(redis)
    return figures


def run(args: argparse.Namespace, database: str, redis: Redis, gateway: Gateway) -> dict[str, Any]:
    """Every round of both worker classes on one database; return the raw figures."""
    url = fresh_database(database)
    # Each database numbers its outbox rows from 1: the keys of the previous one's SMS recur.
    gateway.arrivals.clear()
    (WORK / NAME / "worker.log").unlink(missing_ok=True)
    secret = generate_key()
    sessions = make_session_factory(make_engine(url))
    per_trial = args.latency + args.burst
    request_ids = file_requests(
        sessions, PiiProtector.from_master_key(secret), per_trial * args.rounds * 2
    )
    var_dir = WORK / NAME / "var"
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("TAWASUL_")},
        "PYTHONPATH": str(REPO),  # the no-op job is bench.jobqueue_jobs.noop
        "TAWASUL_VAR_DIR": str(var_dir),
        "TAWASUL_DATABASE_URL": url,
        "TAWASUL_SECRET_KEY": secret,
        "TAWASUL_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "TAWASUL_SMS_PROVIDER": "http",
        "TAWASUL_SMS_GATEWAY_URL": gateway.url,
        "TAWASUL_SMS_GATEWAY_TOKEN": "bench",
    }
    settings = load_settings(environ=env)
    _skip_daily_reports(redis, settings)
    rng = random.Random(4)
    trials: dict[str, list[dict[str, Any]]] = {name: [] for name in WORKER_CLASSES}
    chunks = _chunks(request_ids, [per_trial] * args.rounds * 2)
    for round_number in range(args.rounds):
        # ABBA order: neither class always runs first (or on a box that is warming up).
        order = list(WORKER_CLASSES) if round_number % 2 == 0 else list(reversed(WORKER_CLASSES))
        for worker_class in order:
            worker = WorkerProcess(worker_class, env, WORK / NAME / "worker.log")
            print(f"{database}: round {round_number + 1}/{args.rounds}, {worker_class}", flush=True)
            trials[worker_class].append(
                trial(
                    worker,
                    args,
                    sessions,
                    gateway,
                    redis,
                    next(chunks),
                    rng,
                    settings.relay_interval_ms / 1000,
                )
            )
    sessions.kw["bind"].dispose()
    return {
        "relay_interval_ms": settings.relay_interval_ms,
        "worker_errors": _errors_logged(WORK / NAME / "worker.log"),
        "trials": trials,
    }


def _errors_logged(log_path: Path) -> int:
    # A job that failed and was retried would hide in the latencies: count what the workers
    # logged as errors (none expected).
    logged = log_path.read_text(errors="replace") if log_path.exists() else ""
    return sum(" ERROR " in line or " WARNING " in line for line in logged.splitlines())


def _skip_daily_reports(redis: Redis, settings: Settings) -> None:
    # A worker started after the forwarding cutoff writes the day's reports once: claim the day
    # (and the next, should the run cross midnight) so that no trial pays for it.
    today = datetime.now(WorkingHours.from_settings(settings).zone).date()
    for day in (today, today + timedelta(days=1)):
        redis.set(f"tawasul:late-report:{day.isoformat()}", "1", ex=86400)


# -- figures and the report -------------------------------------------------------------------


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """Pooled percentiles, per-round medians and the fork/simple ratios round by round."""
    summary: dict[str, Any] = {
        "relay_interval_ms": raw["relay_interval_ms"],
        "worker_errors": raw["worker_errors"],
        "classes": {},
    }
    for worker_class, trials in raw["trials"].items():
        latency = [sample for one in trials for sample in one["sms_latency"]]
        pickups = [value for one in trials for value in one["noop_pickup_ms"]]
        summary["classes"][worker_class] = {
            "sms_latency_ms": {
                part: {
                    "p50": percentile([s[part] for s in latency], 0.5),
                    "p99": percentile([s[part] for s in latency], 0.99),
                }
                for part in ("total", "relay", "pickup", "job")
            },
            "sms_latency_p50_by_round": [
                percentile([s["total"] for s in one["sms_latency"]], 0.5) for one in trials
            ],
            "noop_pickup_ms": {"p50": percentile(pickups, 0.5), "p99": percentile(pickups, 0.99)},
            "noop_jobs_per_s": median([one["noop_burst"]["jobs_per_s"] for one in trials]),
            "noop_cpu_ms_per_job": median([one["noop_burst"]["cpu_ms_per_job"] for one in trials]),
            "sms_jobs_per_s": median([one["sms_burst"]["jobs_per_s"] for one in trials]),
            "sms_jobs_per_s_by_round": [one["sms_burst"]["jobs_per_s"] for one in trials],
            "sms_job_ms": median([one["sms_burst"]["job_ms"] for one in trials]),
            "sms_cpu_ms_per_job": median([one["sms_burst"]["cpu_ms_per_job"] for one in trials]),
            "rss_idle_mib": median([one["idle"]["rss_mib"] for one in trials]),
            "rss_after_burst_mib": median([one["after_burst"]["rss_mib"] for one in trials]),
            "scheduler_rss_mib": median([one["idle"]["children_rss_mib"] for one in trials]),
            "pss_idle_mib": median([one["idle"]["pss_mib"] for one in trials]),
            "pss_after_burst_mib": median([one["after_burst"]["pss_mib"] for one in trials]),
            "samples": {"sms_latency": len(latency), "noop_pickup": len(pickups)},
        }

    def ratio(pick: Any) -> float:
        # Paired round by round (the two classes of a round ran minutes apart at most).
        return median(
            [
                pick(fork) / pick(simple)
                for simple, fork in zip(*raw["trials"].values(), strict=True)
            ]
        )

    summary["fork_over_simple"] = {
        "sms_latency_p50": ratio(lambda t: percentile([s["total"] for s in t["sms_latency"]], 0.5)),
        "noop_pickup_p50": ratio(lambda t: percentile(t["noop_pickup_ms"], 0.5)),
        "noop_jobs_per_s": ratio(lambda t: t["noop_burst"]["jobs_per_s"]),
        "sms_jobs_per_s": ratio(lambda t: t["sms_burst"]["jobs_per_s"]),
        "sms_cpu_ms_per_job": ratio(lambda t: t["sms_burst"]["cpu_ms_per_job"]),
    }
    return summary


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _times(value: float) -> str:
    return "–" if value != value else f"{value:.2g}×"


def _errors_text(errors: int) -> str:
    if errors:
        return f"**The workers logged {errors} warnings or errors** (see var/bench/jobqueue/)."
    return "The workers logged no warning and no error: no job failed or was retried."


def markdown(summaries: dict[str, dict[str, Any]], args: argparse.Namespace, elapsed: float) -> str:
    """The section of BENCHMARKS.md."""
    facts = machine()
    first = next(iter(summaries.values()))
    simple_figures = {db: summary["classes"][SIMPLE] for db, summary in summaries.items()}
    fork_figures = {db: summary["classes"][FORK] for db, summary in summaries.items()}
    per_class = args.rounds * args.latency
    lines = [
        "## Job queue: outbox to provider",
        "",
        f"`{command_line()}` — {elapsed:.0f} s on {facts['cpus']} cores ({facts['cpu_model']}),"
        f" {facts['date']}, commit {facts['commit']}.",
        "",
        "An SMS is owed through the notifications API in its own transaction (what every workflow"
        " action does); `tawasul worker` relays the outbox row to RQ, runs the real SMS job and"
        " calls the HTTP gateway provider, here a local stub that notes when each call arrives."
        " Latency is that arrival minus the commit. Beside it, in the same worker process, RQ's"
        " own no-op job (`bench.jobqueue_jobs.noop`) shows what the queue itself costs. Both"
        " worker classes run the same composition root: RQ's non-forking `SimpleWorker` (the"
        " real `tawasul worker`) and RQ's default forking `Worker` (`bench.jobqueue_worker`,"
        " which forks only outside the relay's transactions and gives each job its own database"
        " connection: without that, a job forked while the relay held SQLite's write lock waits"
        " 30 s for it). Trials alternate between the classes"
        f" ({args.rounds} rounds, ABBA order), each with a fresh worker process:"
        f" {args.pickups} no-op jobs one at a time and a burst of {args.burst}, then"
        f" {args.latency} SMS one at a time ({per_class} a class in all) and a burst of"
        f" {args.burst} SMS committed together. The commit that owes an SMS wakes the relay;"
        f" it also polls every {first['relay_interval_ms']} ms (the default), the fallback. "
        + _errors_text(sum(summary["worker_errors"] for summary in summaries.values())),
        "",
        "**Commit to provider call**, SMS one at a time (ms; pooled over the rounds). Relay is"
        " commit to RQ enqueue, pickup is enqueue to the job's start (RQ's own stamps), job is"
        " start to the provider call.",
        "",
    ]
    rows: list[Sequence[object]] = []
    for db, summary in summaries.items():
        for worker_class, figures in summary["classes"].items():
            latency = figures["sms_latency_ms"]
            rows.append(
                [
                    db,
                    worker_class,
                    _ms(latency["total"]["p50"]),
                    _ms(latency["total"]["p99"]),
                    _ms(latency["relay"]["p50"]),
                    _ms(latency["pickup"]["p50"]),
                    _ms(latency["job"]["p50"]),
                    ", ".join(_ms(value) for value in figures["sms_latency_p50_by_round"]),
                ]
            )
        rows.append(
            [db, "fork ÷ simple", _times(summary["fork_over_simple"]["sms_latency_p50"])] + [""] * 5
        )
    lines += [
        table(
            [
                "database",
                "worker",
                "p50",
                "p99",
                "relay p50",
                "pickup p50",
                "job p50",
                "p50 by round",
            ],
            rows,
        ),
        "",
        "**Jobs per second per worker**, bursts (median of the rounds). CPU is the worker's, its"
        " work horses included, per job; job is how long RQ saw one SMS job run.",
        "",
    ]
    rows = []
    for db, summary in summaries.items():
        for worker_class, figures in summary["classes"].items():
            rows.append(
                [
                    db,
                    worker_class,
                    figures["noop_jobs_per_s"],
                    figures["sms_jobs_per_s"],
                    _times(figures["sms_jobs_per_s"] / figures["noop_jobs_per_s"]),
                    _ms(figures["noop_cpu_ms_per_job"]),
                    _ms(figures["sms_cpu_ms_per_job"]),
                    _ms(figures["sms_job_ms"]),
                ]
            )
        ratios = summary["fork_over_simple"]
        rows.append(
            [
                db,
                "fork ÷ simple",
                _times(ratios["noop_jobs_per_s"]),
                _times(ratios["sms_jobs_per_s"]),
                "",
                "",
                _times(ratios["sms_cpu_ms_per_job"]),
                "",
            ]
        )
    lines += [
        table(
            [
                "database",
                "worker",
                "no-op jobs/s",
                "SMS jobs/s",
                "SMS ÷ no-op",
                "CPU ms/no-op",
                "CPU ms/SMS",
                "SMS job ms",
            ],
            rows,
        ),
        "",
        "**Pickup of RQ's no-op job** (enqueue to start, ms) and **resident memory** of the"
        " worker process (MiB; median of the rounds). The scheduler is RQ's scheduler process"
        " that every `tawasul worker` forks (`with_scheduler=True`); PSS is the memory the two"
        " take together, each shared page counted once.",
        "",
    ]
    rows = []
    for db, summary in summaries.items():
        for worker_class, figures in summary["classes"].items():
            rows.append(
                [
                    db,
                    worker_class,
                    _ms(figures["noop_pickup_ms"]["p50"]),
                    _ms(figures["noop_pickup_ms"]["p99"]),
                    figures["rss_idle_mib"],
                    figures["rss_after_burst_mib"],
                    figures["scheduler_rss_mib"],
                    figures["pss_idle_mib"],
                    figures["pss_after_burst_mib"],
                ]
            )
        rows.append(
            [db, "fork ÷ simple", _times(summary["fork_over_simple"]["noop_pickup_p50"])] + [""] * 6
        )
    lines += [
        table(
            [
                "database",
                "worker",
                "pickup p50",
                "pickup p99",
                "RSS idle",
                "RSS after bursts",
                "scheduler RSS",
                "PSS idle",
                "PSS after bursts",
            ],
            rows,
        ),
        "",
    ]
    met = all(
        figures["sms_latency_ms"]["total"]["p50"] < GOAL_P50_MS
        for figures in simple_figures.values()
    )
    goal = "; ".join(
        f"{db} {_ms(figures['sms_latency_ms']['total']['p50'])} ms (rounds:"
        f" {', '.join(_ms(value) for value in figures['sms_latency_p50_by_round'])})"
        for db, figures in simple_figures.items()
    )
    parts = first["classes"][SIMPLE]["sms_latency_ms"]
    lines += [
        f"**Goal: p50 under {GOAL_P50_MS:.0f} ms from commit to provider call"
        f" (`tawasul worker`, SimpleWorker)** — {'✅' if met else '❌'} {goal}."
        f" Where the time goes ({next(iter(summaries))}, p50s): {_ms(parts['relay']['p50'])} ms"
        " from the commit to the relay's enqueue (the commit wakes the relay: a NOTIFY on"
        " PostgreSQL, a datagram on SQLite; its poll every"
        f" {first['relay_interval_ms']} ms is the fallback for a missed wake-up),"
        f" {_ms(parts['pickup']['p50'])} ms for RQ to start the job, and"
        f" {_ms(parts['job']['p50'])} ms of the job's own work before it calls the provider."
        " Before the wake-up (BENCHMARKS.md of 2026-11-28, sqlite, polling only) the p50 was"
        " 69 ms, 59 of them waiting for the poll.",
        "",
    ]
    faster = all(
        simple_figures[db]["sms_jobs_per_s"] >= fork_figures[db]["sms_jobs_per_s"]
        and simple_figures[db]["sms_latency_ms"]["total"]["p50"]
        <= fork_figures[db]["sms_latency_ms"]["total"]["p50"]
        for db in summaries
    )
    ratios = first["fork_over_simple"]
    simple = first["classes"][SIMPLE]
    growth = simple["rss_after_burst_mib"] - simple["rss_idle_mib"]
    if faster:
        lines.append(
            "**Worker class: `SimpleWorker` stays.** In the same run the forking worker takes"
            f" {_times(ratios['noop_pickup_p50'])} as long to pick a no-op job up and"
            f" {_times(ratios['sms_latency_p50'])} as long from commit to provider call (p50),"
            f" runs {_times(ratios['sms_jobs_per_s'])} the SMS jobs per second at"
            f" {_times(ratios['sms_cpu_ms_per_job'])} the CPU per job, saves no memory that"
            " matters, and is safe only with the fork guard described above. What forking buys"
            " is isolation, a job that leaks or crashes takes only its work horse down; these"
            " jobs keep nothing between runs (the non-forking worker's resident memory grew"
            f" {growth:+.1f} MiB over the bursts), and a worker that dies is what the heartbeat"
            " and the reconciler are for."
        )
    else:
        lines.append(
            "**Worker class: the figures do not favour `SimpleWorker` on every count** (see the"
            " ratios above); it stays for the reasons in `jobqueue/worker.py` (the shared pool"
            " and AMI connection), and the forking worker needs the fork guard described above."
        )
    if "postgresql" not in summaries:
        lines += [
            "",
            "PostgreSQL: `--databases sqlite,postgresql` adds it as a second column (database"
            " `tawasul_bench_jobs`); it doubles the time, so this run measures SQLite, the"
            " embedded default.",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="trials of each worker class")
    parser.add_argument("--latency", type=int, default=100, help="SMS sent one at a time, a trial")
    parser.add_argument("--pickups", type=int, default=50, help="no-op jobs one at a time, a trial")
    parser.add_argument("--burst", type=int, default=200, help="SMS (and no-ops) in one burst")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    redis_server = RedisServer(WORK / NAME / "redis", REDIS_PORT)
    was_running = redis_server.running()
    redis_server.up()
    redis = redis_server.client()
    gateway = Gateway(GATEWAY_PORT).start()
    summaries = {}
    raw = {}
    try:
        for database in args.databases.split(","):
            redis.flushall()
            raw[database] = run(args, database, redis, gateway)
            summaries[database] = summarize(raw[database])
    finally:
        gateway.stop()
        if not was_running:
            redis_server.down()
    elapsed = time.monotonic() - started
    figures = {"summary": summaries, "elapsed_s": elapsed, "raw": raw}
    write_result(NAME, markdown(summaries, args, elapsed), figures)
    print(json.dumps(summaries, indent=1))
    print(f"{elapsed:.0f} s", command_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
