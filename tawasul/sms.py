"""Sending the SMS the outbox owes: render, respect the per-number limit, record the status."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tawasul.delivery import Done, Failed, Held, Outcome
from tawasul.locks import lock_for_update
from tawasul.masking import mask_phone
from tawasul.models import (
    OutboxMessage,
    OutboxStatus,
    Request,
    SmsMessage,
    SmsStatus,
    utcnow,
)
from tawasul.notifications import SmsStage, SmsTemplates
from tawasul.ports import DeliveryError, SmsSender
from tawasul.sms_parts import sms_parts

log = logging.getLogger(__name__)


class SmsDelivery:
    """Delivers one outbox SMS row exactly once in effect, however often it is run."""

    def __init__(
        self,
        sender: SmsSender,
        templates: SmsTemplates,
        allowed_prefixes: tuple[str, ...],
        rate_limit: int,
        rate_window: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sender = sender
        self._templates = templates
        self._allowed = allowed_prefixes
        self._limit = rate_limit
        self._window = rate_window
        self._clock = clock

    def deliver(self, session: Session, row: OutboxMessage) -> Outcome:
        """Send the message of ``row``.

        Returns:
            Done when sent (or already sent), Held when the number is over its limit,
            Failed when it can never be sent (no number, number not allowed, refused).

        Raises:
            DeliveryError: (not permanent) when the provider may accept it later.
        """
        existing = session.scalar(select(SmsMessage).where(SmsMessage.outbox_id == row.id))
        if existing is not None and existing.status in (SmsStatus.SENT, SmsStatus.DELIVERED):
            return Done()
        request = session.get(Request, row.request_id) if row.request_id else None
        if request is None or not request.callback_number:
            return Failed("the request has no callback number")
        number = request.callback_number
        if not number.startswith(self._allowed):
            return Failed("destination not allowed by the SMS policy")
        stage = SmsStage(row.payload["stage"])
        now = self._clock()
        lock_for_update(session, "sms:" + number)
        held_until = self._slot(session, number, row.id, now)
        message = existing
        if message is None:
            params = row.payload.get("params", {})
            body = self._templates.render(stage, request.language, params)
            message = SmsMessage(
                outbox_id=row.id,
                request_id=request.id,
                to_number=number,
                template=stage.value,
                language=request.language,
                body=body,
                parts=sms_parts(body),
                provider=self._sender.name,
                created_at=now,
            )
        session.add(message)
        if held_until is not None:
            message.status = SmsStatus.HELD
            session.commit()
            log.info("SMS %s to %s held until %s", row.id, mask_phone(number), held_until)
            return Held(held_until)
        message.status = SmsStatus.QUEUED
        # Committed before the provider is called: a crash after the call leaves a QUEUED
        # record, and the retry sends with the same idempotency key.
        session.commit()
        try:
            receipt = self._sender.send(number, message.body, f"outbox-{row.id}")
        except DeliveryError as exc:
            message.error = str(exc)[:500]
            if exc.permanent:
                message.status = SmsStatus.FAILED
                message.status_at = self._clock()
                session.commit()
                return Failed(f"provider refused: {exc}")
            session.commit()
            raise
        message.provider_message_id = receipt.provider_message_id
        message.status = SmsStatus.DELIVERED if receipt.delivered else SmsStatus.SENT
        message.sent_at = message.status_at = self._clock()
        message.error = None
        session.commit()
        log.info("SMS %s sent to %s", row.id, mask_phone(number))
        return Done()

    def _slot(
        self, session: Session, number: str, outbox_id: int, now: datetime
    ) -> datetime | None:
        """When this message may go: None for now, else the time of its own free slot.

        The messages held for one number wait in the order they were owed (outbox id): each
        gets the slot the limit gives it after the ones ahead, instead of all waking when one
        slot frees and all but one going back to wait.
        """
        since = now - self._window
        times: list[datetime] = [
            sent_at
            for sent_at in session.scalars(
                select(SmsMessage.sent_at)
                .where(SmsMessage.to_number == number)
                .where(SmsMessage.status.in_((SmsStatus.SENT, SmsStatus.DELIVERED)))
                .where(SmsMessage.sent_at > since)
                .order_by(SmsMessage.sent_at)
            )
            if sent_at is not None
        ]
        # Held messages whose rows are still owed; one whose row failed for another reason
        # waits for nothing and must not keep the others waiting.
        ahead = int(
            session.scalar(
                select(func.count(SmsMessage.id))
                .join(OutboxMessage, OutboxMessage.id == SmsMessage.outbox_id)
                .where(SmsMessage.to_number == number)
                .where(SmsMessage.status == SmsStatus.HELD)
                .where(SmsMessage.outbox_id < outbox_id)
                .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.ENQUEUED)))
            )
            or 0
        )
        sent = len(times)
        for position in range(ahead + 1):
            # The n-th message may go once the one `limit` places before it left the window.
            index = sent + position - self._limit
            times.append(now if index < 0 else max(now, times[index] + self._window))
        due = times[-1]
        return None if due <= now else due
