"""The job queue loses nothing: outbox -> relay -> RQ -> provider, on real Redis."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import select

from jobqueue.connection import QUEUE_NAME, check_durability
from jobqueue.context import install
from jobqueue.jobs import deliver
from jobqueue.relay import reconcile, relay_once
from providers.sms import HttpSmsGateway
from tawasul.config import Settings
from tawasul.delivery import Done, Held
from tawasul.errors import ConfigError
from tawasul.forwarding import ForwardingDelivery, late_forwarding
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import (
    Language,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Request,
    SmsMessage,
    SmsStatus,
    utcnow,
)
from tawasul.notifications import SmsStage, SmsTemplates, notify
from tawasul.pii import PiiProtector
from tawasul.ports import DeliveryError, SmsReceipt
from tawasul.sms import SmsDelivery
from tawasul_cli.worker import build_context
from tests.helpers import Database
from tests.integration.http_stub import Answer, HttpStub

NATIONAL_IDS = ["1000000008", "2000000006", "1000000016", "1000000024"]


@pytest.fixture
def stub() -> Iterator[HttpStub]:
    server = HttpStub().start()
    yield server
    server.stop()


def file_request(database: Database, pii: PiiProtector, number: str = "+966501234567") -> Request:
    with database.sessions() as session:
        return IntakeService(pii).file_request(
            session, NewRequest(NATIONAL_IDS[0], Language.EN, "riyadh", callback_number=number)
        )


def run_in_process(database: Database, settings: Settings, redis: Redis) -> None:
    """Relay what is due, then work the queue until it is empty (RQ's SimpleWorker, burst)."""
    settings = dataclasses.replace(settings, database_url=database.url)
    install(build_context(settings, ami=None))
    queue = Queue(QUEUE_NAME, connection=redis)
    while relay_once(database.sessions, queue, settings):
        SimpleWorker([queue], connection=redis).work(burst=True, logging_level="ERROR")


def outbox(database: Database) -> list[OutboxMessage]:
    with database.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_redis_is_checked_for_durability(redis: Redis) -> None:
    check_durability(redis)
    redis.config_set("maxmemory-policy", "allkeys-lru")
    try:
        with pytest.raises(ConfigError, match="noeviction"):
            check_durability(redis)
    finally:
        redis.config_set("maxmemory-policy", "noeviction")


def test_request_gets_its_sms_and_forwarding(
    database: Database, settings: Settings, redis: Redis, pii: PiiProtector
) -> None:
    request = file_request(database, pii)
    run_in_process(database, settings, redis)
    assert [(r.kind, r.status) for r in outbox(database)] == [
        (OutboxKind.SMS, OutboxStatus.DONE),
        (OutboxKind.FORWARD, OutboxStatus.DONE),
    ]
    with database.sessions() as session:
        sms = session.scalars(select(SmsMessage)).one()
        assert sms.status == SmsStatus.DELIVERED
        assert sms.to_number == "+966501234567"
        assert request.reference_number in sms.body
        assert sms.body.startswith("We received your request")  # the requester's language
        assert session.get(Request, request.id).forwarded_at is not None  # type: ignore[union-attr]
    kept = list((settings.var_dir / "sms").glob("*.json"))
    assert len(kept) == 1
    forwarded = json.loads(next((settings.var_dir / "forwarded").glob("*.json")).read_text())
    assert forwarded["reference"] == request.reference_number
    assert forwarded["requester"]["national_id"] == NATIONAL_IDS[0]
    # Redis holds job ids and outbox ids only: never the number or the national ID.
    dump = b"".join(redis.dump(key) or b"" for key in redis.keys("*"))
    assert b"501234567" not in dump and NATIONAL_IDS[0].encode() not in dump


class CountingSender:
    name = "counting"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, to_number: str, body: str, idempotency_key: str) -> SmsReceipt:
        self.sent.append(idempotency_key)
        return SmsReceipt(idempotency_key)


def test_a_job_that_runs_twice_sends_one_sms(
    database: Database, settings: Settings, pii: PiiProtector
) -> None:
    file_request(database, pii)
    sender = CountingSender()
    context = build_context(dataclasses.replace(settings, database_url=database.url), None)
    context.sms = SmsDelivery(sender, SmsTemplates.load(), ("+9665",), 3, timedelta(minutes=10))
    install(context)
    sms_row = outbox(database)[0]
    assert deliver(sms_row.id) == "done"
    assert deliver(sms_row.id) == "done"
    assert sender.sent == [f"outbox-{sms_row.id}"]


def test_gateway_errors_are_classified(stub: HttpStub) -> None:
    gateway = HttpSmsGateway(stub.url, "token", timeout_s=0.5)
    answers = iter([Answer(500), Answer(200, delay_s=2.0), Answer(400), Answer(200)])
    stub.behaviour = lambda n: next(answers)
    with pytest.raises(DeliveryError) as server_error:
        gateway.send("+966501234567", "hello", "k1")
    assert not server_error.value.permanent
    with pytest.raises(DeliveryError) as timeout:
        gateway.send("+966501234567", "hello", "k1")
    assert not timeout.value.permanent
    with pytest.raises(DeliveryError) as refused:
        gateway.send("+966501234567", "hello", "k1")
    assert refused.value.permanent and "400" in str(refused.value)
    receipt = gateway.send("+966501234567", "hello", "k1")
    assert receipt.provider_message_id == "gw-k1"
    first = stub.received[0]
    assert first.headers["authorization"] == "Bearer token"
    assert first.json() == {"to": "+966501234567", "body": "hello", "reference": "k1"}


@pytest.mark.parametrize(
    "answers, status, posts, error",
    [
        ([500, 500, 200], SmsStatus.SENT, 3, None),  # retried, retried, sent
        ([500, 500, 500, 500], SmsStatus.QUEUED, 4, "HTTP 500"),  # retries used up: failed
        ([400], SmsStatus.FAILED, 1, "provider refused: HTTP 400"),  # never retried
    ],
)
def test_sms_job_retries_passing_errors_only(
    database: Database,
    settings: Settings,
    redis: Redis,
    pii: PiiProtector,
    stub: HttpStub,
    answers: list[int],
    status: SmsStatus,
    posts: int,
    error: str | None,
) -> None:
    replies = iter(answers)
    stub.behaviour = lambda n: Answer(next(replies))
    settings = dataclasses.replace(
        settings,
        sms_provider="http",
        sms_gateway_url=stub.url,
        job_retry_intervals=(0, 0, 0),
    )
    file_request(database, pii)
    run_in_process(database, settings, redis)
    sms_row = outbox(database)[0]
    assert len(stub.received) == posts
    with database.sessions() as session:
        message = session.scalars(select(SmsMessage)).one()
        assert message.status == status
    if error is None:
        assert sms_row.status == OutboxStatus.DONE
    else:
        assert sms_row.status == OutboxStatus.FAILED
        assert error in (sms_row.last_error or "")


def test_per_number_rate_limit_holds_and_never_drops(database: Database, pii: PiiProtector) -> None:
    request = file_request(database, pii)
    with database.sessions() as session:
        loaded = session.get(Request, request.id)
        assert loaded is not None
        for _ in range(4):
            notify(session, loaded, SmsStage.IN_REVIEW, {"reference": loaded.reference_number})
        session.commit()
    now = [datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("UTC"))]
    sender = CountingSender()
    delivery = SmsDelivery(
        sender, SmsTemplates.load(), ("+9665",), 3, timedelta(minutes=10), clock=lambda: now[0]
    )
    outcomes = []
    with database.sessions() as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sms")):
            outcomes.append(delivery.deliver(session, row))
            now[0] += timedelta(seconds=30)
    assert outcomes[:3] == [Done(), Done(), Done()]
    # Over the limit: held until the oldest of the three leaves the 10-minute window; the next
    # held one until the second oldest leaves it (its own slot, not the same one).
    expected = Held(datetime(2026, 11, 28, 9, 10, tzinfo=ZoneInfo("UTC")))
    after = Held(datetime(2026, 11, 28, 9, 10, 30, tzinfo=ZoneInfo("UTC")))
    assert outcomes[3:] == [expected, after]
    assert len(sender.sent) == 3
    now[0] = expected.until + timedelta(seconds=1)
    with database.sessions() as session:
        held = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sms")).all()
        assert delivery.deliver(session, held[3]) == Done()
    assert len(sender.sent) == 4


def test_non_saudi_number_is_not_texted(
    database: Database, settings: Settings, redis: Redis, pii: PiiProtector
) -> None:
    file_request(database, pii, number="+447700900123")
    run_in_process(database, settings, redis)
    sms_row = outbox(database)[0]
    assert sms_row.status == OutboxStatus.FAILED
    assert sms_row.last_error == "destination not allowed by the SMS policy"


def test_forwarding_down_until_after_cutoff_is_reported_late(
    database: Database, pii: PiiProtector, stub: HttpStub
) -> None:
    from providers.forwarding import HttpForwarder

    zone = ZoneInfo("Asia/Riyadh")
    day = date(2026, 11, 28)
    at = lambda h, m: datetime(2026, 11, 28, h, m, tzinfo=zone)  # noqa: E731
    filed = {}
    for label, received in [("early", at(9, 0)), ("noon", at(12, 0)), ("late", at(21, 0))]:
        request = file_request(database, pii)
        with database.sessions() as session:
            loaded = session.get(Request, request.id)
            assert loaded is not None
            loaded.created_at = received
            session.commit()
        filed[label] = request.reference_number
    up_from = [at(19, 0)]  # the receiver is down until 19:00, then again...
    stub.behaviour = lambda n: Answer(503)
    clock = [at(9, 5)]
    delivery = ForwardingDelivery(HttpForwarder(stub.url, "secret"), pii, clock=lambda: clock[0])
    with database.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "forward")).all()
        with pytest.raises(DeliveryError):
            delivery.deliver(session, rows[0])
        # The early request reached the ministry before the cut-off once the receiver was up.
        stub.behaviour = lambda n: Answer(200)
        clock[0] = up_from[0]
        assert delivery.deliver(session, rows[0]) == Done()
        # The noon request's receiver stayed down until after the 20:00 cut-off.
        stub.behaviour = lambda n: Answer(503)
        with pytest.raises(DeliveryError):
            delivery.deliver(session, rows[1])
        stub.behaviour = lambda n: Answer(200)
        clock[0] = at(20, 30)
        assert delivery.deliver(session, rows[1]) == Done()
        late = late_forwarding(session, day, "20:00", zone)
    assert late == [filed["noon"]]
    # The 21:00 request came after the cut-off: it is tomorrow's report's business.
    with database.sessions() as session:
        tomorrow = late_forwarding(session, day + timedelta(days=1), "20:00", zone)
    assert tomorrow == [filed["late"]]
    signed = stub.received[-1]
    assert signed.headers["x-tawasul-signature"].startswith("sha256=")
    assert signed.headers["idempotency-key"] == f"outbox-{rows[1].id}"


def test_reconciler_sends_back_a_job_redis_lost(
    database: Database, settings: Settings, redis: Redis, pii: PiiProtector
) -> None:
    file_request(database, pii)
    queue = Queue(QUEUE_NAME, connection=redis)
    assert relay_once(database.sessions, queue, settings) == 2
    redis.flushall()  # Redis lost everything (restarted without its append-only file)
    assert reconcile(database.sessions, redis, now=utcnow()) == 0  # within the grace period
    later = utcnow() + timedelta(minutes=1)
    assert reconcile(database.sessions, redis, now=later) == 2
    assert {r.status for r in outbox(database)} == {OutboxStatus.PENDING}
    run_in_process(database, settings, redis)
    assert {r.status for r in outbox(database)} == {OutboxStatus.DONE}
    assert [r.attempts for r in outbox(database)] == [2, 2]


def test_reconciler_sends_back_a_retry_the_scheduler_forgot(
    database: Database, settings: Settings, redis: Redis, pii: PiiProtector
) -> None:
    from rq.job import JobStatus
    from rq.registry import ScheduledJobRegistry

    from jobqueue.relay import job_id

    file_request(database, pii, number=None)  # a forwarding only
    queue = Queue(QUEUE_NAME, connection=redis)
    assert relay_once(database.sessions, queue, settings) == 1
    (row,) = outbox(database)
    job = Job.fetch(job_id(row), connection=redis)
    queue.remove(job)
    registry = ScheduledJobRegistry(QUEUE_NAME, connection=redis)
    registry.schedule(job, utcnow() - timedelta(minutes=5))  # a retry due five minutes ago
    job.set_status(JobStatus.SCHEDULED)
    assert reconcile(database.sessions, redis, now=utcnow()) == 1
    (again,) = outbox(database)
    assert again.status == OutboxStatus.PENDING
    assert again.last_error == "scheduled retry never ran"


def test_reconciler_sends_back_a_job_taken_by_a_worker_killed_before_starting_it(
    database: Database, settings: Settings, redis: Redis, pii: PiiProtector
) -> None:
    file_request(database, pii, number=None)  # a forwarding only
    queue = Queue(QUEUE_NAME, connection=redis)
    assert relay_once(database.sessions, queue, settings) == 1
    # What RQ's worker does first, alone: the job moves from the queue to the intermediate
    # list; the worker is killed before it marks the job started.
    assert redis.lmove(queue.key, queue.intermediate_queue_key) is not None
    assert len(queue) == 0
    assert reconcile(database.sessions, redis, now=utcnow()) == 0  # maybe in flight
    assert reconcile(database.sessions, redis, now=utcnow() + timedelta(seconds=10)) == 0
    assert reconcile(database.sessions, redis, now=utcnow() + timedelta(minutes=1)) == 1
    (row,) = outbox(database)
    assert row.status == OutboxStatus.PENDING
    assert row.last_error == "job taken by a worker that died before starting it"
    assert redis.llen(queue.intermediate_queue_key) == 0
    run_in_process(database, settings, redis)
    (row,) = outbox(database)
    assert (row.status, row.attempts) == (OutboxStatus.DONE, 2)
