"""Messages held by the per-number limit all go, in order, without using up their attempts."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from jobqueue.connection import QUEUE_NAME
from jobqueue.context import install
from jobqueue.relay import relay_once
from tawasul.config import Settings
from tawasul.ids import luhn_valid
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Language, OutboxKind, OutboxMessage, OutboxStatus, SmsMessage, SmsStatus
from tawasul.notifications import SmsTemplates
from tawasul.pii import PiiProtector
from tawasul.ports import SmsReceipt
from tawasul.sms import SmsDelivery
from tawasul_cli.worker import build_context
from tests.helpers import Database

NUMBER = "+966501234567"
WINDOW = timedelta(milliseconds=400)


class TimedSender:
    """Records what it sent, and when, in the order it was asked."""

    name = "timed"

    def __init__(self) -> None:
        self.sent: list[tuple[str, float]] = []

    def send(self, to_number: str, body: str, idempotency_key: str) -> SmsReceipt:
        self.sent.append((idempotency_key, time.monotonic()))
        return SmsReceipt(idempotency_key)


def test_fourteen_messages_to_one_number_all_go_in_order(
    database: Database, settings: Settings, redis: Redis, pii: PiiProtector
) -> None:
    # Fourteen requests for one callback number (a family, or walk-ins filed by an agent):
    # one message a window, so the last waits thirteen windows, more than the ten attempts
    # a row may use.
    bodies = [f"1000000{n:02d}" for n in range(14)]
    national_ids = [next(b + d for d in "0123456789" if luhn_valid(b + d)) for b in bodies]
    with database.sessions() as session:
        for national_id in national_ids:
            IntakeService(pii).file_request(
                session, NewRequest(national_id, Language.EN, "riyadh", callback_number=NUMBER)
            )
    settings = dataclasses.replace(settings, database_url=database.url)
    assert settings.outbox_max_attempts == 10
    context = build_context(settings, ami=None)
    sender = TimedSender()
    context.sms = SmsDelivery(sender, SmsTemplates.load(), ("+9665",), 1, WINDOW)
    install(context)
    queue = Queue(QUEUE_NAME, connection=redis)

    def sms_rows() -> list[OutboxMessage]:
        with database.sessions() as session:
            return list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.kind == OutboxKind.SMS)
                    .order_by(OutboxMessage.id)
                )
            )

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        relay_once(database.sessions, queue, settings)
        SimpleWorker([queue], connection=redis).work(burst=True, logging_level="ERROR")
        if all(r.status in (OutboxStatus.DONE, OutboxStatus.FAILED) for r in sms_rows()):
            break
        time.sleep(0.02)
    rows = sms_rows()
    assert len(rows) == 14
    assert [(r.status, r.last_error) for r in rows] == [(OutboxStatus.DONE, None)] * 14
    # Each row was handed over for good once: waiting its turn used no attempt.
    assert [r.attempts for r in rows] == [1] * 14
    # Sent in the order they were owed, one a window.
    assert [key for key, _ in sender.sent] == [f"outbox-{r.id}" for r in rows]
    gaps = [b - a for (_, a), (_, b) in zip(sender.sent, sender.sent[1:], strict=False)]
    assert min(gaps) >= WINDOW.total_seconds() * 0.99
    with database.sessions() as session:
        statuses = session.scalars(select(SmsMessage.status)).all()
    assert statuses == [SmsStatus.SENT] * 14
