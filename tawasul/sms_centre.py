"""The parts owed to an SMS centre, and what the centre said about each.

A message sent through an SMS centre (SMPP) is handed over by the job that delivers its outbox
row: one :class:`~tawasul.models.SmsPart` row per part, committed before the job reports the
message sent. The process that holds the bind (``tawasul smpp``) then takes the due parts in
priority order, records each submit before and after the centre answers, and records the
delivery receipts. The rules that keep a dropped bind from losing or doubling a message:

- a part is marked ``submitting`` (committed) before its submit_sm leaves;
- the centre's submit_sm_resp moves it to ``accepted`` with the centre's message_id, and an
  accepted part is never submitted again;
- a part still ``submitting`` when the bind drops, or when a new bind is made (the process
  holding the last one died), had no answer: under SMPP 3.4 the centre did not take it, so it
  goes back to ``pending`` and is submitted again, in its turn.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tawasul.masking import mask_phone
from tawasul.models import (
    OutboxMessage,
    SmsMessage,
    SmsPart,
    SmsPartStatus,
    SmsStatus,
    utcnow,
)
from tawasul.sms_parts import SmsEncoding, split_parts

log = logging.getLogger(__name__)

KEY_PREFIX = "outbox-"
"""The idempotency key ``tawasul.sms.SmsDelivery`` gives a message: ``outbox-<row id>``."""
FINAL = (SmsPartStatus.DELIVERED, SmsPartStatus.FAILED)


@dataclass(frozen=True)
class PartToSubmit:
    """One part as the bind submits it."""

    part_id: int
    sms_message_id: int
    seq: int
    total: int
    to_number: str
    text: str
    encoding: SmsEncoding


@dataclass(frozen=True)
class CentreReceipt:
    """A delivery receipt as the SMS centre sent it."""

    centre_message_id: str
    final: bool
    """False for an intermediate state (ENROUTE, ACCEPTD): nothing is recorded."""
    delivered: bool
    reason: str
    """``stat:<state> err:<code>`` as the centre wrote them."""


def _message_for_key(session: Session, idempotency_key: str) -> SmsMessage | None:
    if not idempotency_key.startswith(KEY_PREFIX):
        return None
    try:
        outbox_id = int(idempotency_key.removeprefix(KEY_PREFIX))
    except ValueError:
        return None
    return session.scalar(select(SmsMessage).where(SmsMessage.outbox_id == outbox_id))


def _spellings(centre_message_id: str) -> list[str]:
    """The message_id as submit_sm_resp may have spelt it: some centres answer the submit in
    hexadecimal and write the receipt's ``id:`` in decimal (or the other way round)."""
    spellings = [centre_message_id]
    if centre_message_id.isdigit():
        as_hex = format(int(centre_message_id), "x")
        spellings += [as_hex, as_hex.upper()]
    with contextlib.suppress(ValueError):
        spellings.append(str(int(centre_message_id, 16)))
    return list(dict.fromkeys(spellings))


class SmsCentreQueue:
    """The database side of an SMS centre bind: hand-over, submits, answers and receipts."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._now = clock

    def hand_over(self, session: Session, idempotency_key: str) -> int:
        """Owe the centre every part of the message of ``idempotency_key`` (once).

        Args:
            session: a session of its own; committed here, before the job reports the
                message sent.
            idempotency_key: ``outbox-<row id>``, as ``tawasul.sms.SmsDelivery`` sends it.

        Returns:
            The message's part count.

        Raises:
            LookupError: no message has this key (the job did not record it first).
        """
        message = _message_for_key(session, idempotency_key)
        if message is None:
            raise LookupError(f"no SMS recorded under {idempotency_key}")
        existing = session.scalars(
            select(SmsPart.seq).where(SmsPart.sms_message_id == message.id)
        ).all()
        if existing:
            return len(existing)  # a second hand-over (the job ran again) owes nothing new
        _, texts = split_parts(message.body)
        now = self._now()
        for seq in range(1, len(texts) + 1):
            session.add(
                SmsPart(
                    sms_message_id=message.id,
                    seq=seq,
                    total=len(texts),
                    status=SmsPartStatus.PENDING,
                    submits=0,
                    available_at=now,
                )
            )
        session.commit()
        return len(texts)

    def requeue_unanswered(self, session: Session, part_ids: list[int] | None = None) -> int:
        """Send parts whose submit_sm had no answer back to pending (all of them if None).

        Returns:
            How many went back.
        """
        statement = update(SmsPart).where(SmsPart.status == SmsPartStatus.SUBMITTING)
        if part_ids is not None:
            if not part_ids:
                return 0
            statement = statement.where(SmsPart.id.in_(part_ids))
        result = session.execute(
            statement.values(status=SmsPartStatus.PENDING, error="no submit_sm_resp: resent")
        )
        session.commit()
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.warning("%d SMS parts had no answer from the centre: they will be resent", count)
        return count

    def claim(self, session: Session, limit: int) -> list[PartToSubmit]:
        """Take up to ``limit`` due parts, most urgent first, and mark them submitting.

        Parts of one message go in order, so a handset that shows parts as they come shows
        the beginning first.
        """
        if limit <= 0:
            return []
        now = self._now()
        rows = session.execute(
            select(SmsPart, SmsMessage)
            .join(SmsMessage, SmsMessage.id == SmsPart.sms_message_id)
            .join(OutboxMessage, OutboxMessage.id == SmsMessage.outbox_id)
            .where(SmsPart.status == SmsPartStatus.PENDING)
            .where(SmsPart.available_at <= now)
            # Most urgent first (the one-time code: OutboxPriority.URGENT), then as owed.
            .order_by(OutboxMessage.priority, SmsPart.sms_message_id, SmsPart.seq)
            .limit(limit)
            .with_for_update(of=SmsPart, skip_locked=True)
        ).all()
        claimed: list[PartToSubmit] = []
        for part, message in rows:
            encoding, texts = split_parts(message.body)
            part.status = SmsPartStatus.SUBMITTING
            part.submits += 1
            part.submitted_at = now
            claimed.append(
                PartToSubmit(
                    part.id,
                    message.id,
                    part.seq,
                    part.total,
                    message.to_number,
                    texts[part.seq - 1],
                    encoding,
                )
            )
        session.commit()
        return claimed

    def accepted(self, session: Session, part_id: int, centre_message_id: str) -> None:
        """The centre took the part (submit_sm_resp): record its message_id."""
        part = session.get(SmsPart, part_id)
        if part is None:
            return
        part.status = SmsPartStatus.ACCEPTED
        part.centre_message_id = centre_message_id
        part.status_at = self._now()
        part.error = None
        session.commit()

    def refused(
        self, session: Session, part_id: int, reason: str, retry_at: datetime | None = None
    ) -> None:
        """The centre refused the part: try again at ``retry_at`` (throttled, queue full), or
        fail it and the rest of its message for good (a bad number, a refused sender id)."""
        part = session.get(SmsPart, part_id)
        if part is None:
            return
        part.error = reason[:500]
        if retry_at is not None:
            part.status = SmsPartStatus.PENDING
            part.available_at = retry_at
            session.commit()
            return
        now = self._now()
        part.status = SmsPartStatus.FAILED
        part.status_at = now
        # A message with a part missing is not worth the other parts' price.
        session.execute(
            update(SmsPart)
            .where(SmsPart.sms_message_id == part.sms_message_id)
            .where(SmsPart.status == SmsPartStatus.PENDING)
            .values(status=SmsPartStatus.FAILED, status_at=now, error="another part was refused")
        )
        session.flush()
        self._settle(session, part.sms_message_id)
        session.commit()

    def receipt(self, session: Session, receipt: CentreReceipt) -> bool:
        """Record a delivery receipt on its part, and on the message once every part is final.

        Returns:
            False when no part has this message_id (the receipt is acknowledged and dropped).
        """
        part = None
        for spelling in _spellings(receipt.centre_message_id):  # the id as sent comes first
            part = session.scalar(
                select(SmsPart)
                .where(SmsPart.centre_message_id == spelling)
                .order_by(SmsPart.id.desc())
                .limit(1)
            )
            if part is not None:
                break
        if part is None:
            return False
        if not receipt.final or part.status in FINAL:
            return True
        part.status = SmsPartStatus.DELIVERED if receipt.delivered else SmsPartStatus.FAILED
        part.error = None if receipt.delivered else receipt.reason[:500]
        part.status_at = self._now()
        session.flush()
        self._settle(session, part.sms_message_id)
        session.commit()
        return True

    def settle_all(self, session: Session) -> int:
        """Settle every sent message whose parts are all final (a receipt may come back
        before the job recorded the message sent). Returns how many were settled."""
        candidates = session.scalars(
            select(SmsMessage.id)
            .join(SmsPart, SmsPart.sms_message_id == SmsMessage.id)
            .where(SmsMessage.status.in_((SmsStatus.QUEUED, SmsStatus.SENT)))
            .where(SmsPart.status.in_(FINAL))
            .distinct()
        ).all()
        settled = sum(1 for message_id in candidates if self._settle(session, message_id))
        session.commit()
        return settled

    def _settle(self, session: Session, sms_message_id: int) -> bool:
        parts = session.scalars(
            select(SmsPart).where(SmsPart.sms_message_id == sms_message_id).order_by(SmsPart.seq)
        ).all()
        message = session.get(SmsMessage, sms_message_id)
        if message is None or message.status not in (SmsStatus.QUEUED, SmsStatus.SENT):
            return False
        failed = [part for part in parts if part.status == SmsPartStatus.FAILED]
        if failed:
            message.status = SmsStatus.FAILED
            message.error = f"part {failed[0].seq}/{failed[0].total}: {failed[0].error}"[:500]
        elif parts and all(part.status == SmsPartStatus.DELIVERED for part in parts):
            message.status = SmsStatus.DELIVERED
        else:
            return False
        message.status_at = self._now()
        log.info("SMS %s to %s %s", message.id, mask_phone(message.to_number), message.status)
        return True
