"""SMS over SMPP 3.4 against an SMS centre stub on loopback: the worker hands messages over,
the bind of ``tawasul smpp`` submits them, and the centre's answers and receipts are recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from providers.smpp import SmppAccount, SmppBind, SmppHandover
from tawasul.bind_status import read_bind_status
from tawasul.config import Settings
from tawasul.ids import luhn_valid
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import (
    Language,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Request,
    SmsMessage,
    SmsPart,
    SmsPartStatus,
    SmsStatus,
)
from tawasul.notifications import SmsStage, SmsTemplates, notify
from tawasul.pii import PiiProtector
from tawasul.sms import SmsDelivery
from tawasul.sms_centre import SmsCentreQueue
from tests.helpers import REPO, Database
from tests.integration.smsc_stub import SmscStub, Submitted
from tests.integration.support import wait_until

SENDER = "MINISTRY"
LONG_EN = "Your documents must be stamped by the branch office before the meeting. " * 3
LONG_AR = "يجب أن تختم الوثائق في مكتب الفرع قبل موعد المقابلة. " * 3


def _national_id(n: int) -> str:
    base = f"10{n:07d}"
    return next(base + d for d in "0123456789" if luhn_valid(base + d))


class Centre:
    """The database side: file requests, owe SMS, and deliver them as the worker does."""

    def __init__(self, database: Database, pii: PiiProtector) -> None:
        self.database = database
        self.pii = pii
        self.delivery = SmsDelivery(
            SmppHandover(database.sessions, SmsCentreQueue()),
            SmsTemplates.load(),
            ("+9665",),
            1000,
            timedelta(minutes=10),
        )
        self._count = 0

    def file(self, language: Language, number: str) -> int:
        """A request filed with a callback number (its 'received' SMS is owed)."""
        self._count += 1
        with self.database.sessions() as session:
            request = IntakeService(self.pii).file_request(
                session,
                NewRequest(_national_id(self._count), language, "riyadh", callback_number=number),
            )
            return request.id

    def owe(self, request_id: int, stage: SmsStage, **params: str) -> None:
        """Owe the requester another SMS."""
        with self.database.sessions() as session:
            request = session.get(Request, request_id)
            assert request is not None
            notify(session, request, stage, {"reference": f"T-{request_id:06d}", **params})
            session.commit()

    def deliver_owed(self) -> None:
        """Run the SMS delivery of every pending outbox row (the worker's job)."""
        with self.database.sessions() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == OutboxKind.SMS)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
                .order_by(OutboxMessage.id)
            ).all()
            for row in rows:
                self.delivery.deliver(session, row)
                row.status = OutboxStatus.DONE
                session.commit()

    def messages(self) -> list[SmsMessage]:
        """Every SMS, oldest first."""
        with self.database.sessions() as session:
            return list(session.scalars(select(SmsMessage).order_by(SmsMessage.id)))

    def wait_settled(self, timeout_s: float = 30.0) -> list[SmsMessage]:
        """Wait until every SMS is delivered or failed."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.messages()
            if found and all(m.status in (SmsStatus.DELIVERED, SmsStatus.FAILED) for m in found):
                return found
            time.sleep(0.1)
        raise AssertionError(f"not settled: {[(m.id, m.status) for m in self.messages()]}")


@pytest.fixture
def centre(database: Database, pii: PiiProtector) -> Centre:
    return Centre(database, pii)


@pytest.fixture
def smsc() -> Iterator[SmscStub]:
    stub = SmscStub(undeliverable=frozenset({"966500000099"}))
    yield stub
    stub.close()


def _bind(database: Database, smsc: SmscStub, **changes: float) -> Iterator[SmppBind]:
    account = SmppAccount(
        "127.0.0.1",
        smsc.port,
        "tawasul",
        "secret",
        sender_id=SENDER,
        window=int(changes.pop("window", 4)),
        max_per_second=changes.pop("max_per_second", 0.0),
        response_timeout_s=5.0,
        reconnect_max_s=0.5,
    )
    bind = SmppBind(
        account,
        database.sessions,
        SmsCentreQueue(),
        poll_s=0.02,
        settle_every_s=0.2,
        retry_after=timedelta(seconds=0.3),
    )
    stop = threading.Event()
    thread = threading.Thread(target=bind.run, args=(stop,), daemon=True)
    thread.start()
    yield bind
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def bind(database: Database, smsc: SmscStub) -> Iterator[SmppBind]:
    yield from _bind(database, smsc)


def _by_message(submitted: list[Submitted]) -> dict[tuple[str, int | None], list[Submitted]]:
    grouped: dict[tuple[str, int | None], list[Submitted]] = defaultdict(list)
    for item in submitted:
        udh = item.udh
        grouped[(item.destination_addr, udh[0] if udh else None)].append(item)
    return grouped


def test_arabic_and_english_arrive_in_their_encoding_and_parts(
    centre: Centre, smsc: SmscStub, bind: SmppBind
) -> None:
    english = centre.file(Language.EN, "+966500000001")
    arabic = centre.file(Language.AR, "+966500000002")
    centre.owe(english, SmsStage.REJECTED, reason=LONG_EN)
    centre.owe(arabic, SmsStage.REJECTED, reason=LONG_AR)
    centre.deliver_owed()
    messages = centre.wait_settled()

    assert [m.status for m in messages] == [SmsStatus.DELIVERED] * 4
    assert [m.parts for m in messages] == [1, 1, 2, 4]
    with smsc.lock:
        submitted = list(smsc.submitted)
    assert len(submitted) == 1 + 1 + 2 + 4
    assert {(s.source_addr, s.source_addr_ton) for s in submitted} == {(SENDER, 5)}
    for message in messages:
        reference = message.id % 256 if message.parts > 1 else None
        parts = _by_message(submitted)[(message.to_number.removeprefix("+"), reference)]
        assert len(parts) == message.parts
        coding = 8 if message.language == Language.AR else 0
        assert {part.data_coding for part in parts} == {coding}
        if message.parts > 1:
            assert [part.udh for part in parts] == [
                (reference, message.parts, seq) for seq in range(1, message.parts + 1)
            ]
            # 153 septets or 67 UCS-2 characters a part, the last one shorter.
            per_part = 67 if coding == 8 else 153
            assert all(len(part.text) <= per_part for part in parts)
            assert len(parts[0].text) >= per_part - 1
        else:
            assert parts[0].udh is None
        assert "".join(part.text for part in parts) == message.body


def test_delivery_receipts_mark_messages_delivered_or_failed(
    centre: Centre, smsc: SmscStub, bind: SmppBind, database: Database
) -> None:
    centre.file(Language.EN, "+966500000003")
    unreachable = centre.file(Language.AR, "+966500000099")
    centre.owe(unreachable, SmsStage.REJECTED, reason=LONG_AR)
    centre.deliver_owed()
    delivered, failed, failed_long = centre.wait_settled()

    assert delivered.status == SmsStatus.DELIVERED
    assert failed.status == SmsStatus.FAILED
    assert failed.error is not None and "stat:UNDELIV err:001" in failed.error
    assert failed_long.status == SmsStatus.FAILED
    # Every part went to the centre and carries the message_id its receipt named.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with database.sessions() as session:
            parts = session.scalars(
                select(SmsPart).where(SmsPart.sms_message_id == failed_long.id)
            ).all()
        if all(part.status in (SmsPartStatus.DELIVERED, SmsPartStatus.FAILED) for part in parts):
            break
        time.sleep(0.05)
    assert len(parts) == failed_long.parts
    assert {part.status for part in parts} == {SmsPartStatus.FAILED}
    assert {part.centre_message_id for part in parts} <= {s.message_id for s in smsc.submitted}


def test_the_window_bounds_the_submits_awaiting_an_answer(
    centre: Centre, smsc: SmscStub, database: Database
) -> None:
    for n in range(12):
        centre.file(Language.EN, f"+9665000005{n:02d}")
    centre.deliver_owed()
    smsc.answer_delay_s = 0.2
    for _ in _bind(database, smsc, window=3):
        messages = centre.wait_settled()
    assert {m.status for m in messages} == {SmsStatus.DELIVERED}
    assert smsc.most_outstanding == 3


def test_a_refused_part_fails_its_message_and_a_throttled_one_waits_its_turn(
    centre: Centre, smsc: SmscStub, database: Database
) -> None:
    smsc.refuse = {"966500000600": 0x0B}  # ESME_RINVDSTADR
    smsc.throttle_first = 2
    centre.file(Language.EN, "+966500000600")
    centre.file(Language.EN, "+966500000601")
    centre.file(Language.AR, "+966500000602")
    centre.deliver_owed()
    for _ in _bind(database, smsc, window=1):
        refused, first, second = centre.wait_settled()
    assert refused.status == SmsStatus.FAILED
    assert refused.error is not None and "0xb" in refused.error
    assert (first.status, second.status) == (SmsStatus.DELIVERED, SmsStatus.DELIVERED)
    assert [status for _, status in smsc.refused].count(0x58) == 2  # ESME_RTHROTTLED
    with database.sessions() as session:
        submits = {part.sms_message_id: part.submits for part in session.scalars(select(SmsPart))}
    # The throttled submits were tried again; the refused one was not.
    assert submits[refused.id] == 1
    assert sum(submits.values()) == 3 + 2


def test_a_bind_dropped_mid_batch_loses_nothing_and_sends_nothing_twice(
    centre: Centre, smsc: SmscStub, database: Database
) -> None:
    for n in range(8):
        request = centre.file(Language.AR if n % 2 else Language.EN, f"+96650000010{n}")
        centre.owe(request, SmsStage.REJECTED, reason=LONG_AR if n % 2 else LONG_EN)
    centre.deliver_owed()
    expected_parts = sum(m.parts or 0 for m in centre.messages())
    # The centre drops the bind on the 7th submit_sm, unanswered, with a window of submits
    # still in flight behind it.
    smsc.drop_on_submit = 7
    for bind in _bind(database, smsc):
        messages = centre.wait_settled()
        assert bind.binds >= 2

    assert {m.status for m in messages} == {SmsStatus.DELIVERED}
    with smsc.lock:
        submitted = list(smsc.submitted)
        assert smsc.received_submits > len(submitted)  # some went out twice: unanswered
    keys = [(s.destination_addr, s.udh) for s in submitted]
    assert len(keys) == len(set(keys)) == expected_parts
    with database.sessions() as session:
        resent = session.scalars(select(SmsPart).where(SmsPart.submits > 1)).all()
        assert resent  # the unanswered parts were submitted again, and only once accepted


def test_parts_a_dead_process_left_unanswered_go_at_the_next_bind(
    centre: Centre, smsc: SmscStub, database: Database
) -> None:
    for n in range(3):
        centre.file(Language.EN, f"+9665000007{n:02d}")
    centre.deliver_owed()
    with database.sessions() as session:
        # A tawasul smpp that marked two parts submitting, then died before they left.
        assert len(SmsCentreQueue().claim(session, 2)) == 2
    for _ in _bind(database, smsc):
        messages = centre.wait_settled()
    assert {m.status for m in messages} == {SmsStatus.DELIVERED}
    assert sorted(s.destination_addr for s in smsc.submitted) == [
        f"9665000007{n:02d}" for n in range(3)
    ]


def test_a_one_time_code_overtakes_a_backlog(
    centre: Centre, smsc: SmscStub, database: Database
) -> None:
    for n in range(30):
        centre.file(Language.EN, f"+9665000002{n:02d}")
    centre.deliver_owed()
    otp_request = centre.file(Language.AR, "+966500000300")
    with database.sessions() as session:
        received = session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.request_id == otp_request)
            .where(OutboxMessage.kind == OutboxKind.SMS)
        )
        assert received is not None
        received.status = OutboxStatus.DONE  # only the code is owed to this requester
        session.commit()
    # One submit at a time, 20 a second: the backlog takes a second and a half to drain.
    for _ in _bind(database, smsc, window=1, max_per_second=20):
        deadline = time.monotonic() + 10
        while len(smsc.submitted) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        centre.owe(otp_request, SmsStage.VERIFICATION_CODE, code="482913", minutes="5")
        centre.deliver_owed()
        with smsc.lock:
            ahead = len(smsc.submitted)
        centre.wait_settled()

    order = [s.destination_addr for s in smsc.submitted]
    position = order.index("966500000300")
    # Next after the submit in flight when it was owed, not behind the rest of the backlog.
    assert position <= ahead + 1 < 20
    assert len(order) == 31


def test_tawasul_smpp_binds_with_the_settings_and_only_once(
    centre: Centre, smsc: SmscStub, database: Database, settings: Settings, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TAWASUL_VAR_DIR": str(settings.var_dir),
        "TAWASUL_DATABASE_URL": database.url,
        "TAWASUL_SECRET_KEY": settings.secret_key,
        "TAWASUL_SMS_PROVIDER": "smpp",
        "TAWASUL_SMPP_PORT": str(smsc.port),
        "TAWASUL_SMPP_SYSTEM_ID": "tawasul",
        "TAWASUL_SMPP_PASSWORD": "secret",
        "TAWASUL_SMPP_SENDER_ID": SENDER,
    }
    command = [sys.executable, "-m", "tawasul_cli.main", "smpp"]
    process = subprocess.Popen(command, env=env, cwd=tmp_path)
    try:
        centre.file(Language.AR, "+966500000400")
        centre.deliver_owed()
        (message,) = centre.wait_settled()
        assert message.status == SmsStatus.DELIVERED
        assert smsc.binds == 1
        # What /health reports: tawasul smpp writes it within a poll (0.2 s) of binding.
        wait_until(lambda: read_bind_status(settings.var_dir) == "ok", 10, "the bind status")
        # A second process refuses to bind while the first holds the bind.
        second = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=60)
        assert second.returncode == 2
        assert b"another tawasul smpp holds" in second.stderr
        assert smsc.binds == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    assert read_bind_status(settings.var_dir) == "down"  # it unbound on the way out
