"""Sending the SMS the outbox owes: render, respect the per-number limit, record the status."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from tawasul.delivery import Done, Failed, Held, Outcome
from tawasul.locks import lock_for_update
from tawasul.masking import mask_phone
from tawasul.models import (
    OutboxKind,
    OutboxMessage,
    OutboxPriority,
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
        # The one-time code is never held: the requester is waiting for it, on the phone.
        held_until = (
            None if row.priority == OutboxPriority.URGENT else self._slot(session, number, row, now)
        )
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
        message.held_until = held_until
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
        self, session: Session, number: str, row: OutboxMessage, now: datetime
    ) -> datetime | None:
        """When this message may go: None for now, else the time of its own free slot.

        The messages held for one number wait by priority, then in the order they were owed
        (outbox id): each gets the slot the limit gives it after the ones ahead, instead of all
        waking when one slot frees and all but one going back to wait. Urgent messages (the
        one-time code) are not counted: they neither use a place nor wait for one.
        """
        since = now - self._window
        times: list[datetime] = [
            sent_at
            for sent_at in session.scalars(
                select(SmsMessage.sent_at)
                .join(OutboxMessage, OutboxMessage.id == SmsMessage.outbox_id)
                .where(OutboxMessage.priority != int(OutboxPriority.URGENT))
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
                .where(
                    (OutboxMessage.priority < row.priority)
                    | ((OutboxMessage.priority == row.priority) & (SmsMessage.outbox_id < row.id))
                )
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


@dataclass(frozen=True)
class OwedSms:
    """One SMS a request owes or sent, as the request's page lists it (never its text: the
    one-time code is for the requester alone)."""

    outbox_id: int
    stage: str
    priority: OutboxPriority
    status: str
    """An :class:`SmsStatus` once the message was rendered; before, ``scheduled`` (due later),
    ``queued`` or ``failed``."""
    due_at: datetime
    held_until: datetime | None
    """Set while the per-number limit holds it: when it may go."""
    sent_at: datetime | None
    parts: int | None


_OWED_OF = (
    select(
        OutboxMessage.id,
        OutboxMessage.request_id,
        OutboxMessage.payload,
        OutboxMessage.status,
        OutboxMessage.available_at,
        OutboxMessage.priority,
        SmsMessage.id,
        SmsMessage.status,
        SmsMessage.held_until,
        SmsMessage.sent_at,
        SmsMessage.parts,
    )
    .outerjoin(SmsMessage, SmsMessage.outbox_id == OutboxMessage.id)
    .where(
        OutboxMessage.request_id.in_(bindparam("request_ids", expanding=True)),
        OutboxMessage.kind == OutboxKind.SMS,
    )
    .order_by(OutboxMessage.id)
)
"""A page's SMS, built once (:func:`owed_sms` runs for every list page): the columns shown,
not whole rows (a message's body, its one-time code too, stays in the database)."""


def owed_sms(
    session: Session, request_ids: Collection[int], now: datetime | None = None
) -> dict[int, list[OwedSms]]:
    """Each request's SMS, owed and sent, in the order they were owed: one query for a page.

    Args:
        session: a database session (only read).
        request_ids: the requests (their visibility is the caller's to check).
        now: the clock, to tell a message due later from one waiting its turn.

    Returns:
        By request id (every one given), one entry per outbox SMS row, with its message's
        delivery state when it has one.
    """
    now = now or utcnow()
    owed: dict[int, list[OwedSms]] = {request_id: [] for request_id in request_ids}
    if not owed:
        return owed
    rows = session.execute(_OWED_OF, {"request_ids": sorted(owed)})
    for (
        outbox_id,
        request_id,
        payload,
        outbox_status,
        available_at,
        priority,
        message_id,
        message_status,
        held_until,
        sent_at,
        parts,
    ) in rows:
        sent = message_id is not None
        if sent:
            status = SmsStatus(message_status).value
        elif outbox_status in (OutboxStatus.FAILED, OutboxStatus.DONE):
            status = SmsStatus.FAILED.value  # done without a message: it could not be sent
        else:
            status = "scheduled" if available_at > now else SmsStatus.QUEUED.value
        owed[request_id or 0].append(
            OwedSms(
                outbox_id=outbox_id,
                stage=str(payload.get("stage", "")),
                priority=OutboxPriority(priority),
                status=status,
                due_at=available_at,
                held_until=held_until if sent and message_status == SmsStatus.HELD else None,
                sent_at=sent_at if sent else None,
                parts=parts if sent else None,
            )
        )
    return owed
