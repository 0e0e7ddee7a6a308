"""The RQ job: deliver one outbox row. Its only argument is the row's id (no personal data)."""

from __future__ import annotations

import logging

from rq import get_current_job

from jobqueue.context import current
from tawasul.delivery import Done, Failed, Held, Outcome
from tawasul.models import OutboxKind, OutboxMessage, OutboxStatus, utcnow
from tawasul.ports import DeliveryError

log = logging.getLogger(__name__)


def _last_try() -> bool:
    job = get_current_job()
    return job is None or not getattr(job, "retries_left", None)


def deliver(outbox_id: int) -> str:
    """Perform the side effect an outbox row owes, once in effect however often it runs.

    A passing failure (5xx, timeout, AMI down) is raised so RQ retries it with backoff; on the
    last retry the row is marked failed with the reason. Returns the row's final status.
    """
    context = current()
    with context.sessions() as session:
        row = session.get(OutboxMessage, outbox_id)
        if row is None:
            log.warning("outbox row %s vanished", outbox_id)
            return "missing"
        if row.status in (OutboxStatus.DONE, OutboxStatus.FAILED):
            return row.status.value  # an earlier run finished it
        handler = {
            OutboxKind.SMS: context.sms,
            OutboxKind.FORWARD: context.forwarding,
            OutboxKind.CALLBACK: context.callbacks,
        }.get(row.kind)
        if handler is None:
            raise DeliveryError(f"this worker cannot deliver {row.kind.value}", permanent=False)
        try:
            outcome: Outcome = handler.deliver(session, row)
        except Exception as exc:
            session.rollback()
            row = session.get(OutboxMessage, outbox_id)
            assert row is not None
            permanent = isinstance(exc, DeliveryError) and exc.permanent
            row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            if permanent or _last_try():
                row.status = OutboxStatus.FAILED
                log.error("outbox %s (%s) failed for good: %s", row.id, row.kind, exc)
            session.commit()
            if permanent:
                return row.status.value
            raise
        _apply(row, outcome)
        session.commit()
        return row.status.value


def _apply(row: OutboxMessage, outcome: Outcome) -> None:
    if isinstance(outcome, Done):
        row.status = OutboxStatus.DONE
        row.done_at = utcnow()
        row.last_error = None
    elif isinstance(outcome, Held):
        # Back to the relay, which hands it to RQ again when it is due. Held (a rate limit,
        # closed hours, a callback's next try) is an answer, not a failed hand-over: the
        # attempt is given back, or a message waiting its turn would run out of attempts.
        # The next job id still differs: it carries the new due time.
        row.status = OutboxStatus.PENDING
        row.available_at = outcome.until
        row.attempts = max(0, row.attempts - 1)
    elif isinstance(outcome, Failed):
        row.status = OutboxStatus.FAILED
        row.last_error = outcome.reason
        log.warning("outbox %s (%s) cannot be delivered: %s", row.id, row.kind, outcome.reason)
