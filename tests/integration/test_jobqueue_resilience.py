"""Nothing lost, nothing twice: a worker killed with -9, Redis down while calls come in."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from jobqueue.connection import QUEUE_NAME
from jobqueue.relay import reconcile, relay_once
from tawasul.config import Settings
from tawasul.ids import luhn_valid
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Language, OutboxKind, OutboxMessage, OutboxStatus, SmsMessage, SmsStatus
from tawasul.pii import PiiProtector
from tawasul_cli.redis_server import RedisServer
from tests.helpers import Database
from tests.integration.http_stub import Answer, HttpStub
from tests.integration.support import IVR, Phone, WorkerProcess, wait_until, worker_env
from tests.integration.test_phone_menu import full_request_script


def national_id(serial: int) -> str:
    body = f"1{serial:08d}"
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


@pytest.fixture
def gateway() -> Iterator[HttpStub]:
    stub = HttpStub(behaviour=lambda n: Answer(200, delay_s=0.003)).start()
    yield stub
    stub.stop()


def sms_rows(database: Database) -> dict[int, OutboxStatus]:
    with database.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.status).where(
                OutboxMessage.kind == OutboxKind.SMS
            )
        )
        return {row.id: row.status for row in rows}


def test_worker_killed_with_sigkill_loses_and_duplicates_nothing(
    database: Database,
    settings: Settings,
    redis_server: RedisServer,
    redis: Redis,
    pii: PiiProtector,
    gateway: HttpStub,
) -> None:
    intake = IntakeService(pii)
    with database.sessions() as session:
        for serial in range(1000):
            intake.file_request(
                session,
                NewRequest(
                    national_id(serial),
                    Language.AR,
                    "riyadh",
                    callback_number=f"+96650{serial:07d}",
                ),
            )
    queue = Queue(QUEUE_NAME, connection=redis)
    while relay_once(database.sessions, queue, settings):
        pass
    assert len(queue) == 2000  # an SMS and a forwarding per request, waiting in Redis

    env = worker_env(
        settings,
        redis_server.url,
        database_url=database.url,
        sms_provider="http",
        sms_gateway_url=gateway.url,
    )
    logs = settings.var_dir / "worker.log"
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    first = WorkerProcess(env, logs).start()
    wait_until(lambda: len(gateway.received) >= 250, 120, "the worker to send 250 messages")
    first.kill9()
    sent_before_kill = len(gateway.received)
    assert sent_before_kill < 1000, "the worker finished before it could be killed"

    second = WorkerProcess(env, logs).start()
    try:
        wait_until(lambda: len(queue) == 0, 180, "the restarted worker to empty the queue")
        # The job in hand when the first worker died is stuck as "started": the reconciler
        # sends it back once the dead worker's heartbeat has expired.
        wait_until(
            lambda: (
                reconcile(database.sessions, redis) >= 0
                and set(sms_rows(database).values()) == {OutboxStatus.DONE}
            ),
            120,
            "every SMS outbox row to be done",
        )
    finally:
        second.stop()

    expected = {f"outbox-{row_id}" for row_id in sms_rows(database)}
    accepted = Counter(gateway.accepted_keys())
    assert set(accepted) == expected  # 1,000 messages at the provider, none missing
    repeats = {key: count for key, count in accepted.items() if count > 1}
    # At most the one message in flight at the kill is asked for again, with the same
    # idempotency key: the gateway sends it once.
    assert len(repeats) <= 1
    with database.sessions() as session:
        statuses = session.execute(
            select(SmsMessage.status, func.count()).group_by(SmsMessage.status)
        ).all()
    assert dict(statuses) == {SmsStatus.SENT: 1000}


def test_redis_down_while_calls_file_requests_then_everything_is_delivered(
    ivr: IVR,
    phone: Phone,
    settings: Settings,
    redis_server: RedisServer,
    redis: Redis,
    gateway: HttpStub,
) -> None:
    env = worker_env(
        settings,
        redis_server.url,
        database_url=ivr.database.url,
        sms_provider="http",
        sms_gateway_url=gateway.url,
    )
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    worker = WorkerProcess(env, settings.var_dir / "worker.log").start()
    try:
        wait_until(lambda: len(redis.keys("rq:worker:*")) > 0, 30, "the worker to start")
        redis_server.down()
        # A hundred callers through the whole new-request menu, a tenth of a second apart.
        placed = []
        for n in range(100):
            script = full_request_script(national_id(5000 + n))
            placed.append(phone.call(script, caller_id=f"05{60000000 + n}"))
            time.sleep(0.1)
        for call in placed:
            phone.wait_hangup(call, timeout_s=300)
        with ivr.database.sessions() as session:
            filed = session.scalar(select(func.count(OutboxMessage.id)))
        assert filed == 200  # every call filed its request: the IVR does not need Redis
        assert len(gateway.received) == 0
        redis_server.up()

        def forwarded() -> list[OutboxStatus]:
            with ivr.database.sessions() as session:
                return list(
                    session.scalars(
                        select(OutboxMessage.status).where(OutboxMessage.kind == OutboxKind.FORWARD)
                    ).all()
                )

        # SMS and forwarding are separate jobs: neither waits for the other, so wait for both.
        wait_until(
            lambda: (
                set(sms_rows(ivr.database).values()) == {OutboxStatus.DONE}
                and set(forwarded()) == {OutboxStatus.DONE}
            ),
            180,
            "every SMS and every forward to be done once Redis is back",
        )
        assert len(forwarded()) == 100
    finally:
        worker.stop()
    accepted = gateway.accepted_keys()
    assert len(accepted) == 100 == len(set(accepted))
    assert len(list((settings.var_dir / "forwarded").glob("*.json"))) == 100


def test_an_idle_worker_stops_at_once_on_sigterm(
    database: Database, settings: Settings, redis_server: RedisServer, redis: Redis
) -> None:
    # RQ raises StopRequested from an idle worker's loop without setting its stop flag: the
    # worker must still exit (a service manager's stop is a SIGTERM), not start a new round.
    env = worker_env(settings, redis_server.url, database_url=database.url)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    worker = WorkerProcess(env, settings.var_dir / "worker.log").start()
    try:
        # Idle in its loop: RQ registers a worker before it installs its signal handlers.
        wait_until(
            lambda: any(redis.hget(key, "state") == b"idle" for key in redis.keys("rq:worker:*")),
            30,
            "the worker to wait for jobs",
        )
        assert redis.keys("tawasul:worker:*:alive")
        assert worker.process is not None
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=10) == 0
        assert redis.keys("tawasul:worker:*:alive") == []
    finally:
        worker.stop()
