"""SMS priority: the one-time code goes at once, decisions before progress messages, and the
request's page sees when a held message may go. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from jobqueue.relay import relay_once
from tawasul.delivery import Done, Held
from tawasul.models import OutboxKind, OutboxMessage, OutboxStatus, SmsMessage, SmsStatus
from tawasul.notifications import SmsTemplates
from tawasul.ports import SmsReceipt
from tawasul.sms import SmsDelivery

WINDOW = timedelta(minutes=10)
NUMBER = "+966501234567"


class Sender:
    """An SMS provider that accepts everything and keeps the order it was asked in."""

    name = "test"

    def __init__(self) -> None:
        self.keys: list[str] = []

    def send(self, to_number: str, body: str, idempotency_key: str) -> SmsReceipt:
        self.keys.append(idempotency_key)
        return SmsReceipt(f"id-{len(self.keys)}")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def sms_rows(database, request_id: int | None = None) -> list[OutboxMessage]:
    with database.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SMS)
        if request_id is not None:
            query = query.where(OutboxMessage.request_id == request_id)
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def deliver(database, delivery: SmsDelivery, row_id: int) -> Any:
    with database.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return delivery.deliver(session, row)


def stage_row(database, request_id: int, stage: str) -> OutboxMessage:
    return [r for r in sms_rows(database, request_id) if r.payload["stage"] == stage][-1]


def test_the_code_goes_at_once_when_the_number_used_its_limit(client, auth, requests, database):
    clock = Clock()
    sender = Sender()
    delivery = SmsDelivery(sender, SmsTemplates.load(), ("+9665",), 3, WINDOW, clock=clock)
    first = requests.file(callback_number=NUMBER).id
    second = requests.file(callback_number=NUMBER).id
    client.post(f"/requests/{first}/claim", json={"category": "man"}, headers=auth["agent"])
    # received, received, in review: the number's three messages of the window.
    for row in sms_rows(database):
        assert deliver(database, delivery, row.id) == Done()

    started = client.post(f"/requests/{first}/verification", headers=auth["agent"])
    assert started.status_code == 201, started.json
    code = stage_row(database, first, "verification_code")
    assert code.priority == 0
    clock.now += timedelta(seconds=1)
    assert deliver(database, delivery, code.id) == Done()
    assert sender.keys[-1] == f"outbox-{code.id}"

    # The code used no place: the limit still holds the fourth progress message, not a fifth.
    client.post(f"/requests/{second}/claim", json={"category": "woman"}, headers=auth["agent"])
    progress = stage_row(database, second, "in_review")
    held = deliver(database, delivery, progress.id)
    assert isinstance(held, Held)

    detail = client.get(f"/requests/{second}", headers=auth["agent"]).json
    listed = {item["stage"]: item for item in detail["sms"]}
    assert listed["in_review"]["status"] == "held"
    assert listed["in_review"]["priority"] == "normal"
    assert datetime.fromisoformat(listed["in_review"]["held_until"]) == held.until
    assert listed["received"]["status"] == "sent"
    assert listed["received"]["held_until"] is None
    mine = client.get(f"/requests/{first}", headers=auth["agent"]).json["sms"]
    code_item = [item for item in mine if item["stage"] == "verification_code"][0]
    assert (code_item["priority"], code_item["status"]) == ("urgent", "sent")
    assert "body" not in code_item  # the agent never reads the code


def test_a_decision_goes_before_progress_messages_held_earlier(client, auth, requests, database):
    clock = Clock()
    sender = Sender()
    delivery = SmsDelivery(sender, SmsTemplates.load(), ("+9665",), 1, WINDOW, clock=clock)
    rid = requests.file(callback_number=NUMBER).id
    other = requests.file(callback_number=NUMBER).id
    received = sms_rows(database, rid)[0]
    assert deliver(database, delivery, received.id) == Done()
    progress = sms_rows(database, other)[0]  # owed first ...
    assert isinstance(deliver(database, delivery, progress.id), Held)

    client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["supervisor"])
    rejected = client.post(
        f"/requests/{rid}/reject", json={"reason": "outside the remit"}, headers=auth["supervisor"]
    )
    assert rejected.status_code == 200, rejected.json
    decision = stage_row(database, rid, "rejected")
    assert decision.priority == 1
    assert isinstance(deliver(database, delivery, decision.id), Held)

    # The window frees one place: the progress message, though owed first, waits again.
    clock.now += WINDOW + timedelta(seconds=1)
    assert isinstance(deliver(database, delivery, progress.id), Held)
    assert deliver(database, delivery, decision.id) == Done()
    assert sender.keys[-1] == f"outbox-{decision.id}"
    with database.sessions() as session:
        sent = session.scalar(select(SmsMessage).where(SmsMessage.outbox_id == decision.id))
        assert sent is not None and sent.status == SmsStatus.SENT
        assert sent.held_until is None  # it went: no longer held


class RecordingQueue:
    """Stands for RQ's queue: records the order rows are handed over, and which to the front."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []

    def enqueue_call(self, func: Any, args: tuple[int], **options: Any) -> None:
        self.calls.append((args[0], bool(options.get("at_front"))))


def test_the_relay_hands_over_codes_first(client, auth, requests, database, api_settings):
    backlog = [requests.file(callback_number=f"+96650000{n:04d}").id for n in range(3)]
    rid = backlog[0]
    client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    code = stage_row(database, rid, "verification_code")
    queue = RecordingQueue()

    handed = relay_once(database.sessions, queue, api_settings)  # type: ignore[arg-type]

    assert handed == len(queue.calls) > 4
    assert queue.calls[0] == (code.id, True)
    assert all(not front for _, front in queue.calls[1:])
    rest = [row_id for row_id, _ in queue.calls[1:]]
    assert rest == sorted(rest)  # the others in the order they were owed
    assert all(r.status == OutboxStatus.ENQUEUED for r in sms_rows(database))


def test_codes_have_their_own_limit(client, auth, requests):
    rid = requests.file().id
    client.post(f"/requests/{rid}/claim", json={"category": "man"}, headers=auth["agent"])
    for _ in range(3):
        started = client.post(f"/requests/{rid}/verification", headers=auth["agent"])
        assert started.status_code == 201, started.json
    fourth = client.post(f"/requests/{rid}/verification", headers=auth["agent"])
    assert fourth.status_code == 429, fourth.json
    assert fourth.json["error"] == "too-many-attempts"
    assert fourth.json["details"]["reason"] == "codes_sent"
    assert 0 < fourth.json["details"]["retry_after_s"] <= 600
