"""The relay moves due outbox rows to RQ; the reconciler finds what RQ lost or abandoned."""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select as select_rows
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from jobqueue.connection import QUEUE_NAME
from jobqueue.jobs import deliver
from tawasul.config import Settings
from tawasul.models import OutboxMessage, OutboxPriority, OutboxStatus, utcnow
from tawasul.outbox import WAKE_CHANNEL, wake_address

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 480
"""Longest a job may run: a callback rings an agent (or waits its turn in a branch queue,
``callback_queue_wait_s``), then a requester."""
LOST_GRACE = timedelta(seconds=30)
"""An enqueued row whose job Redis does not know is lost only after this long (the job may
be in flight between the relay's enqueue and its commit)."""
OVERDUE = timedelta(seconds=60)
"""A retry this late past its time was forgotten by RQ's scheduler."""
DEQUEUED_GRACE = timedelta(seconds=30)
"""A job taken off the queue but never started is lost after this long: its worker died
between RQ's move into the intermediate list and the start (microseconds when alive)."""
HEARTBEAT_KEY = "tawasul:worker:{name}:alive"
GENERATION = ".g"
"""A worker process names its successive RQ workers <name>.g0, .g1...: one heartbeat for all."""


def job_id(row: OutboxMessage) -> str:
    """Each hand-over gets its own job id, so a re-enqueued row never collides with its past.

    The attempt count alone does not tell hand-overs apart (a held row gives its attempt
    back); the time the row became due does, as a held row is due again later.
    """
    due = row.available_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
    return f"outbox-{row.id}-{row.attempts}-{due}"


def relay_once(
    sessions: sessionmaker[Session], queue: Queue, settings: Settings, batch: int = 500
) -> int:
    """Hand every due pending row to RQ; return how many were handed over.

    Rows go by priority (``OutboxMessage.priority``), then in the order they were owed; an
    urgent row (the one-time identity code) is put at the front of RQ's queue, ahead of a
    backlog handed over earlier. If Redis fails half-way, the rows handed over so far are
    committed and the rest stay pending for the next pass.
    """
    now = utcnow()
    retry = Retry(
        max=len(settings.job_retry_intervals), interval=list(settings.job_retry_intervals)
    )
    handed = 0
    with sessions() as session:
        rows = session.scalars(
            select_rows(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .where(OutboxMessage.available_at <= now)
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            if row.attempts >= settings.outbox_max_attempts:
                row.status = OutboxStatus.FAILED
                row.last_error = f"handed to the queue {row.attempts} times without result"
                continue
            row.attempts += 1
            try:
                queue.enqueue_call(
                    deliver,
                    args=(row.id,),
                    job_id=job_id(row),
                    retry=retry,
                    timeout=JOB_TIMEOUT_S,
                    result_ttl=3600,
                    failure_ttl=7 * 86400,
                    at_front=row.priority == OutboxPriority.URGENT,
                )
            except RedisError as exc:
                row.attempts -= 1
                log.warning("relay: Redis refused the enqueue (%s); will retry", exc)
                break
            row.status = OutboxStatus.ENQUEUED
            row.enqueued_at = now
            handed += 1
        session.commit()
    return handed


def _alive(redis: Redis, worker_name: str | None) -> bool:
    if not worker_name:
        return False
    process = worker_name.rsplit(GENERATION, 1)[0]
    return bool(redis.exists(HEARTBEAT_KEY.format(name=process)))


def reconcile(sessions: sessionmaker[Session], redis: Redis, now: datetime | None = None) -> int:
    """Send back to the relay every enqueued row whose job was lost, failed or abandoned.

    Lost: Redis no longer knows the job (flushed, restarted without its data). Failed or
    stopped: the job died without recording an outcome (the job records its own final
    failures). Abandoned: started by a worker that stopped beating (killed with -9).
    Returns how many rows were sent back.
    """
    now = now or utcnow()
    sent_back = 0
    with sessions() as session:
        rows = session.scalars(
            select_rows(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.ENQUEUED)
            .order_by(OutboxMessage.id)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        jobs = Job.fetch_many([job_id(row) for row in rows], connection=redis)
        # RQ's list of the jobs workers have taken off the queue and not yet started.
        intermediate = Queue(QUEUE_NAME, connection=redis).intermediate_queue
        dequeued = set(intermediate.get_job_ids())
        for row, job in zip(rows, jobs, strict=True):
            reason = _lost_reason(redis, row, job, now, intermediate, dequeued)
            if reason is None:
                continue
            if job is not None:
                try:
                    job.delete()
                    if job.id in dequeued:
                        intermediate.remove(job.id)
                        redis.delete(intermediate.get_first_seen_key(job.id))
                except (RedisError, NoSuchJobError):
                    log.warning("could not delete the abandoned job %s", job.id)
            row.status = OutboxStatus.PENDING
            row.available_at = utcnow()
            row.last_error = reason
            sent_back += 1
        session.commit()
    if sent_back:
        log.warning("reconciler sent %d outbox rows back to the relay", sent_back)
    return sent_back


def _lost_reason(
    redis: Redis,
    row: OutboxMessage,
    job: Job | None,
    now: datetime,
    intermediate: IntermediateQueue,
    dequeued: set[str],
) -> str | None:
    if job is None:
        enqueued = row.enqueued_at or now
        return "job lost by Redis" if now - enqueued > LOST_GRACE else None
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED and job.id in dequeued:
        # Taken off the queue by a worker that has not started it: in flight, or its worker
        # was killed in between. RQ's own clean-up of this list waits for a maintenance
        # round (ten minutes by default), then a minute more; the reconciler waits its grace
        # from the first time it (or RQ) saw the job there, on RQ's own first-seen mark.
        intermediate.set_first_seen(job.id)
        first_seen = intermediate.get_first_seen(job.id) or now
        if now - first_seen > DEQUEUED_GRACE:
            return "job taken by a worker that died before starting it"
        return None
    if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        return f"job {status.value} without an outcome"
    if status == JobStatus.STARTED and not _alive(redis, job.worker_name):
        return "job abandoned by a dead worker"
    if status == JobStatus.SCHEDULED:
        # A retry waits in RQ's scheduled registry for a scheduler to move it; if no scheduler
        # did long after its time (the scheduler died with Redis), it is lost all the same.
        try:
            due = ScheduledJobRegistry(QUEUE_NAME, connection=redis).get_scheduled_time(job)
        except NoSuchJobError:
            return "scheduled retry lost by Redis"
        if now - due.astimezone(now.tzinfo) > OVERDUE:
            return "scheduled retry never ran"
    return None


class RelayWake:
    """What the relay waits on between passes: a commit that owes an effect, or the poll.

    On PostgreSQL a connection of its own ``LISTEN``s on :data:`tawasul.outbox.WAKE_CHANNEL`;
    on SQLite a datagram socket is bound to the database's :func:`tawasul.outbox.wake_address`
    (one relay per database gets the wake-ups: another worker's relay, finding the address
    taken, polls). Whatever fails here only leaves the relay polling, as it did before.
    """

    def __init__(self, database_url: str) -> None:
        self._url = make_url(database_url)
        self._socket: socket.socket | None = None
        self._listener: Any = None
        self._retry_at = 0.0
        self.woken = 0
        """Wake-ups received (tests and the benchmark read it)."""

    def wait(self, timeout_s: float) -> bool:
        """Return when a wake-up arrives (True) or after ``timeout_s`` (False)."""
        try:
            if self._url.get_backend_name() == "postgresql":
                return self._wait_notify(timeout_s)
            return self._wait_datagram(timeout_s)
        except Exception as exc:  # noqa: BLE001 (any failure: poll, reconnect later)
            log.warning("relay wake-up: %s; polling until it is back", exc)
            self.close()
            self._retry_at = time.monotonic() + 5.0
            time.sleep(timeout_s)
            return False

    def _wait_datagram(self, timeout_s: float) -> bool:
        if self._socket is None and time.monotonic() >= self._retry_at:
            address = wake_address(self._url)
            if address is not None:
                bound = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                try:
                    bound.bind(address)
                except OSError:
                    bound.close()
                    self._retry_at = time.monotonic() + 30.0
                    log.info("another relay takes this database's wake-ups; this one polls")
                else:
                    bound.setblocking(False)
                    self._socket = bound
        if self._socket is None:
            time.sleep(timeout_s)
            return False
        readable, _, _ = select.select([self._socket], [], [], timeout_s)
        if not readable:
            return False
        # Several commits may have woken us: one pass relays them all.
        while True:
            try:
                self._socket.recv(64)
            except BlockingIOError:
                break
        self.woken += 1
        return True

    def _wait_notify(self, timeout_s: float) -> bool:
        if self._listener is None:
            if time.monotonic() < self._retry_at:
                time.sleep(timeout_s)
                return False
            import psycopg

            dsn = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = psycopg.connect(dsn, autocommit=True)
            self._listener.execute(f"LISTEN {WAKE_CHANNEL}")
        woken = False
        for _ in self._listener.notifies(timeout=timeout_s, stop_after=1):
            woken = True
        if woken:
            for _ in self._listener.notifies(timeout=0):
                pass
            self.woken += 1
        return woken

    def close(self) -> None:
        """Let the address or the listening connection go."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:  # noqa: BLE001 (closing a broken connection)
                log.debug("relay wake-up: closing the listener failed", exc_info=True)
            self._listener = None


class Background(threading.Thread):
    """Runs ``step`` every ``interval_s`` until stopped, logging (not dying on) its errors.

    With ``wake``, the wait between two steps ends early when it returns (the relay's wake-up
    by a commit); the interval stays the longest wait, so a missed wake-up costs one interval.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], object],
        interval_s: float,
        wake: Callable[[float], object] | None = None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._step = step
        self._interval_s = interval_s
        self._wake = wake
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._step()
            except (RedisError, SQLAlchemyError, OSError) as exc:
                log.warning("%s: %s", self.name, exc)
                self.stopping.wait(1.0)
            except Exception:
                log.exception("%s failed", self.name)
                self.stopping.wait(1.0)
            if self._wake is not None and not self.stopping.is_set():
                self._wake(self._interval_s)
            else:
                self.stopping.wait(self._interval_s)
