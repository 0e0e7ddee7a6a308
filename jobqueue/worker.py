"""Composition root of ``tawasul worker``: RQ's worker, the relay, the reconciler, a heartbeat.

The worker is RQ's non-forking ``SimpleWorker``: jobs share the process's database pool and
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
from datetime import datetime, timedelta
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from sqlalchemy.orm import Session, sessionmaker

from ivr.ami import AMIClient
from ivr.call_control import AmiCallControl
from jobqueue.connection import QUEUE_NAME, check_durability, connect
from jobqueue.context import JobContext, install
from jobqueue.providers import HttpForwarder, HttpSmsGateway, LocalForwarder, LocalSmsProvider
from jobqueue.relay import GENERATION, HEARTBEAT_KEY, Background, reconcile, relay_once
from tawasul import security_log
from tawasul.callbacks import CallbackPlacer
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.errors import ConfigError
from tawasul.forwarding import ForwardingDelivery, write_late_report
from tawasul.hours import WorkingHours
from tawasul.metrics.report import daily_report
from tawasul.models import utcnow
from tawasul.notifications import SmsTemplates
from tawasul.pii import PiiProtector
from tawasul.ports import DeliveryError, Forwarder, SmsSender
from tawasul.retention import purge
from tawasul.sms import SmsDelivery
from tawasul.stale_calls import close_calls_without_channel

log = logging.getLogger(__name__)

RECONCILE_EVERY_S = 15.0
ORPHANED_CALLS_EVERY_S = 30.0
"""How often the worker looks for calls whose FastAGI server died (their rows stay open)."""


def sms_sender(settings: Settings) -> SmsSender:
    """The configured SMS provider."""
    if settings.sms_provider == "local":
        return LocalSmsProvider(settings.var_dir / "sms")
    if settings.sms_provider == "http":
        if not settings.sms_gateway_url:
            raise ConfigError("sms_provider is http but sms_gateway_url is empty")
        return HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token)
    raise ConfigError(f"unknown sms_provider {settings.sms_provider!r}")


def forwarder(settings: Settings) -> Forwarder:
    """The ministry's webhook if configured, else local storage."""
    if settings.forward_url:
        if not settings.forward_secret:
            raise ConfigError("forward_url is set but forward_secret is empty")
        return HttpForwarder(settings.forward_url, settings.forward_secret)
    return LocalForwarder(settings.var_dir / "forwarded")


def build_context(settings: Settings, ami: AMIClient | None) -> JobContext:
    """Wire the job services of a worker process."""
    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    security_log.install(sessions)
    pii = PiiProtector.from_master_key(settings.resolved_secret_key())
    templates_path = Path(settings.sms_templates_file) if settings.sms_templates_file else None
    sms = SmsDelivery(
        sms_sender(settings),
        SmsTemplates.load(templates_path),
        settings.sms_allowed_prefixes,
        settings.sms_rate_limit,
        timedelta(seconds=settings.sms_rate_window_s),
    )
    callbacks = None
    if ami is not None:
        calls = AmiCallControl(
            ami,
            settings.callback_allowed_prefixes,
            settings.callback_agent_ring_s,
            settings.callback_queue_wait_s,
        )
        callbacks = CallbackPlacer(
            calls,
            WorkingHours.from_settings(settings),
            settings.callback_agent_endpoint,
            timedelta(seconds=settings.callback_retry_s),
            settings.callback_timeout_s,
            daily_limit=settings.callback_daily_limit,
        )
    return JobContext(
        settings, sessions, sms, ForwardingDelivery(forwarder(settings), pii), callbacks
    )


def _close_orphaned_calls(sessions: sessionmaker[Session], calls: AmiCallControl) -> None:
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


def _wait_for_redis(redis: Redis) -> None:
    # Started before Redis (boot order, a Redis restart): wait rather than die.
    while True:
        try:
            redis.ping()
            return
        except RedisError as exc:
            log.warning("waiting for Redis: %s", exc)
            time.sleep(2)


def run_worker(settings: Settings, burst: bool = False, with_ami: bool = True) -> int:
    """Run until stopped (or, with ``burst``, until the queue is empty)."""
    redis = connect(settings.redis_url)
    _wait_for_redis(redis)
    check_durability(redis)
    ami = None
    if with_ami:
        ami = AMIClient(
            settings.ami_host,
            settings.ami_port,
            settings.ami_username,
            settings.resolved_ami_secret(),
            name="worker-ami",
        ).start(wait_s=5, require=False)
    context = build_context(settings, ami)
    install(context)
    queue = Queue(QUEUE_NAME, connection=redis)
    name = f"tawasul-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    heartbeat_key = HEARTBEAT_KEY.format(name=name)
    ttl = settings.worker_heartbeat_s

    threads = [
        Background("heartbeat", lambda: redis.set(heartbeat_key, "1", ex=ttl), max(ttl / 3, 0.5)),
        Background(
            "relay",
            lambda: relay_once(context.sessions, queue, settings),
            settings.relay_interval_ms / 1000,
        ),
        Background("reconciler", lambda: reconcile(context.sessions, redis), RECONCILE_EVERY_S),
        Background("reports", lambda: _late_report_step(context, redis), 60.0),
    ]
    if ami is not None:
        # Calls whose FastAGI server died are closed once Asterisk no longer carries them.
        calls = AmiCallControl(ami)
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
            _wait_for_redis(redis)
            generation += 1
    finally:
        for thread in threads:
            thread.stopping.set()
        with contextlib.suppress(RedisError):
            redis.delete(heartbeat_key)
        if ami is not None:
            ami.close()
    return 0
