"""The job worker's loop: RQ's worker beside the relay, the reconciler, reports and a heartbeat.

Its composition root (``tawasul_cli.worker``) builds the job context and the Redis client. The
worker is RQ's non-forking ``SimpleWorker``: jobs share the process's database pool and
its long-lived AMI connection (a forked job would start without the AMI thread), and picking up
a job costs about 3 ms instead of 15 ms for a fork (the benchmark issue measures this).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from datetime import datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from sqlalchemy.orm import Session, sessionmaker

from jobqueue.connection import QUEUE_NAME
from jobqueue.context import JobContext
from jobqueue.relay import (
    GENERATION,
    HEARTBEAT_KEY,
    Background,
    RelayWake,
    reconcile,
    relay_once,
)
from tawasul.forwarding import write_late_report
from tawasul.hours import WorkingHours
from tawasul.metrics.report import daily_report
from tawasul.models import utcnow
from tawasul.ports import CallControl, DeliveryError
from tawasul.retention import purge
from tawasul.stale_calls import close_calls_without_channel

log = logging.getLogger(__name__)

RECONCILE_EVERY_S = 15.0
ORPHANED_CALLS_EVERY_S = 30.0
"""How often the worker looks for calls whose FastAGI server died (their rows stay open)."""


def _close_orphaned_calls(sessions: sessionmaker[Session], calls: CallControl) -> None:
    try:
        with sessions() as session:
            close_calls_without_channel(session, calls)
    except DeliveryError as exc:
        log.warning("orphaned calls: Asterisk cannot say which channels are live: %s", exc)


def _late_report_step(context: JobContext, redis: Redis) -> None:
    hours = WorkingHours.from_settings(context.settings)
    local_now = datetime.now(hours.zone)
    if local_now.strftime("%H:%M") < context.settings.forward_cutoff:
        return
    day = local_now.date()
    # One worker writes each day's reports; the key outlives the day.
    if redis.set(f"tawasul:late-report:{day.isoformat()}", "1", nx=True, ex=3 * 86400):
        with context.sessions() as session:
            write_late_report(session, day, context.settings.forward_cutoff, hours.zone)
            daily_report(session, day, context.settings)
            purge(session, context.settings, utcnow())


def wait_for_redis(redis: Redis) -> None:
    """Block until Redis answers: started before it (boot order, a restart), wait, not die."""
    while True:
        try:
            redis.ping()
            return
        except RedisError as exc:
            log.warning("waiting for Redis: %s", exc)
            time.sleep(2)


def run_worker(
    context: JobContext, redis: Redis, burst: bool = False, calls: CallControl | None = None
) -> int:
    """Run until stopped (or, with ``burst``, until the queue is empty).

    Args:
        context: the job services, already installed for the jobs of this process.
        redis: the queue's Redis, checked for durability by the caller.
        burst: exit once the queue is empty.
        calls: Asterisk's channels, to close the calls of a FastAGI server that died
            (``tawasul.stale_calls``) every ``ORPHANED_CALLS_EVERY_S``; None skips that.

    Returns:
        The process's exit status.
    """
    settings = context.settings
    queue = Queue(QUEUE_NAME, connection=redis)
    name = f"tawasul-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    heartbeat_key = HEARTBEAT_KEY.format(name=name)
    ttl = settings.worker_heartbeat_s
    # A commit that owes an SMS wakes the relay at once; the interval is the fallback poll.
    wake = RelayWake(settings.resolved_database_url())

    threads = [
        Background("heartbeat", lambda: redis.set(heartbeat_key, "1", ex=ttl), max(ttl / 3, 0.5)),
        Background(
            "relay",
            lambda: relay_once(context.sessions, queue, settings),
            settings.relay_interval_ms / 1000,
            wake=wake.wait,
        ),
        Background("reconciler", lambda: reconcile(context.sessions, redis), RECONCILE_EVERY_S),
        Background("reports", lambda: _late_report_step(context, redis), 60.0),
    ]
    if calls is not None:
        # Calls whose FastAGI server died are closed once Asterisk no longer carries them.
        threads.append(
            Background(
                "orphaned-calls",
                lambda: _close_orphaned_calls(context.sessions, calls),
                ORPHANED_CALLS_EVERY_S,
            )
        )
    redis.set(heartbeat_key, "1", ex=ttl)
    for thread in threads:
        thread.start()
    log.info("worker %s started (queue %s)", name, QUEUE_NAME)
    generation = 0
    try:
        while True:
            # RQ's worker quits when Redis goes away at some points of its loop; ours waits for
            # Redis and starts a fresh one (a new name: the old one may still look registered).
            worker = SimpleWorker([queue], connection=redis, name=f"{name}{GENERATION}{generation}")
            try:
                worker.work(with_scheduler=True, burst=burst, logging_level="WARNING")
            except RedisError as exc:
                log.warning("worker lost Redis: %s", exc)
            # RQ's own record of a SIGTERM: a busy worker sets its stop flag, an idle one only
            # the date (it raises StopRequested out of its loop without the flag).
            stopped = worker._stop_requested or worker._shutdown_requested_date is not None  # noqa: SLF001
            if burst or stopped:
                break
            wait_for_redis(redis)
            generation += 1
    finally:
        for thread in threads:
            thread.stopping.set()
        threads[1].join(timeout=2 * settings.relay_interval_ms / 1000 + 1)
        wake.close()
        with contextlib.suppress(RedisError):
            redis.delete(heartbeat_key)
    return 0
