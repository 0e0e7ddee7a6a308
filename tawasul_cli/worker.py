"""Composition root of ``tawasul worker``: the database, Redis, AMI and the job services."""

from __future__ import annotations

from datetime import timedelta

from jobqueue.connection import check_durability, connect
from jobqueue.context import JobContext, install
from jobqueue.worker import run_worker, wait_for_redis
from providers import build
from providers.ami import AMIClient
from tawasul import security_log
from tawasul.callbacks import CallbackPlacer
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.forwarding import ForwardingDelivery
from tawasul.hours import WorkingHours
from tawasul.notifications import sms_templates
from tawasul.pii import PiiProtector
from tawasul.sms import SmsDelivery


def build_context(settings: Settings, ami: AMIClient | None) -> JobContext:
    """Wire the job services of a worker process; without ``ami`` it places no callbacks."""
    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    security_log.install(sessions)
    pii = PiiProtector.from_master_key(settings.resolved_secret_key())
    sms = SmsDelivery(
        build.sms_sender(settings, sessions),
        sms_templates(settings),
        settings.sms_allowed_prefixes,
        settings.sms_rate_limit,
        timedelta(seconds=settings.sms_rate_window_s),
    )
    callbacks = None
    if ami is not None:
        callbacks = CallbackPlacer(
            build.call_control(settings, ami),
            WorkingHours.from_settings(settings),
            settings.callback_agent_endpoint,
            timedelta(seconds=settings.callback_retry_s),
            settings.callback_timeout_s,
            daily_limit=settings.callback_daily_limit,
            branch_hours=lambda branch: WorkingHours.for_branch(settings, branch),
        )
    return JobContext(
        settings, sessions, sms, ForwardingDelivery(build.forwarder(settings), pii), callbacks
    )


def serve_worker(settings: Settings, burst: bool = False, with_ami: bool = True) -> int:
    """Run a job worker until stopped (or, with ``burst``, until the queue is empty)."""
    redis = connect(settings.redis_url)
    wait_for_redis(redis)
    check_durability(redis)
    ami = None
    if with_ami:
        ami = build.ami_client(settings, "worker-ami").start(wait_s=5, require=False)
    try:
        context = build_context(settings, ami)
        install(context)
        calls = build.call_control(settings, ami) if ami is not None else None
        return run_worker(context, redis, burst, calls)
    finally:
        if ami is not None:
            ami.close()
