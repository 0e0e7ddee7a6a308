"""Callbacks: calling a requester back, agent first, within working hours, a few attempts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tawasul.audit import record_event
from tawasul.delivery import Done, Failed, Held, Outcome
from tawasul.hours import WorkingHours
from tawasul.masking import mask_phone
from tawasul.models import (
    Callback,
    CallbackStatus,
    OutboxKind,
    OutboxMessage,
    utcnow,
)
from tawasul.outbox import add
from tawasul.ports import CallControl, DeliveryError

log = logging.getLogger(__name__)


def schedule_callback(session: Session, callback: Callback) -> OutboxMessage:
    """Owe the call in the caller's transaction (placed at ``callback.due_at``)."""
    session.add(callback)
    session.flush()
    return add(
        session,
        OutboxKind.CALLBACK,
        request_id=callback.request_id,
        payload={"callback_id": callback.id},
        available_at=callback.due_at,
    )


class CallbackPlacer:
    """Places one owed callback through the ``CallControl`` port and records what happened."""

    def __init__(
        self,
        calls: CallControl,
        hours: WorkingHours,
        default_endpoint: str,
        retry_after: timedelta,
        timeout_s: float,
        clock: Callable[[], datetime] = utcnow,
        daily_limit: int = 3,
        branch_hours: Callable[[str], WorkingHours] | None = None,
    ) -> None:
        """Args after ``hours`` are the settings of the same names; ``branch_hours`` gives a
        branch's own hours and overrides (``WorkingHours.for_branch``), and ``hours``, the
        centre's, serve when it is not given."""
        self._calls = calls
        self._hours = hours
        self._branch_hours = branch_hours
        self._default_endpoint = default_endpoint
        self._retry_after = retry_after
        self._timeout_s = timeout_s
        self._clock = clock
        self._daily_limit = daily_limit

    def deliver(self, session: Session, row: OutboxMessage) -> Outcome:
        """Ring the agent, then the requester.

        Returns:
            Done when connected (or already), Held outside working hours or until the next
            attempt, Failed when attempts are used up or nobody can be rung.

        Raises:
            DeliveryError: (not permanent) when the telephony system is unreachable.
        """
        callback = session.get(Callback, row.payload["callback_id"])
        if callback is None:
            return Failed("the callback no longer exists")
        if callback.status in (CallbackStatus.CONNECTED, CallbackStatus.CANCELLED):
            return Done()
        if callback.status == CallbackStatus.FAILED:
            return Failed(callback.last_result or "failed")
        now = self._clock()
        hours = self._branch_hours(callback.branch) if self._branch_hours else self._hours
        if not hours.is_open(now):
            return Held(hours.next_opening(now))
        endpoint = callback.agent_endpoint or self._default_endpoint
        if not endpoint:
            return Failed("no agent endpoint to ring first")
        if callback.attempts == 0 and self._over_daily_limit(session, callback, now):
            # Toll-fraud guard: one number cannot make the centre call it without end.
            return self._finish(
                session, callback, CallbackStatus.FAILED, "daily callback limit for this number"
            )
        callback.status = CallbackStatus.DIALING
        callback.attempts += 1
        session.commit()
        # The branch chooses the number the requester sees (its presented number on the trunk).
        variables = {"TAWASUL_CALLBACK_ID": str(callback.id), "TAWASUL_BRANCH": callback.branch}
        if callback.request_id is not None:
            variables["TAWASUL_REQUEST_ID"] = str(callback.request_id)
        try:
            leg = self._calls.connect(endpoint, callback.number, variables, self._timeout_s)
        except DeliveryError:
            callback.status = CallbackStatus.WAITING
            callback.attempts -= 1  # the call was never placed: the attempt does not count
            session.commit()
            raise
        except ValueError as exc:  # refused by the call-control policy
            return self._finish(session, callback, CallbackStatus.FAILED, f"refused: {exc}")
        log.info("callback %s to %s: %s", callback.id, mask_phone(callback.number), leg.reason)
        if not leg.placed:
            # The carrier was unreachable: the requester was not called, so this is no attempt;
            # the callback waits and goes out once a trunk is up, however long that takes.
            callback.attempts -= 1
            self._finish(session, callback, CallbackStatus.WAITING, leg.reason)
            return Held(self._clock() + self._retry_after)
        if leg.connected:
            callback.connected_at = self._clock()
            return self._finish(session, callback, CallbackStatus.CONNECTED, leg.reason)
        if callback.attempts >= callback.max_attempts:
            return self._finish(session, callback, CallbackStatus.FAILED, leg.reason)
        self._finish(session, callback, CallbackStatus.WAITING, leg.reason)
        return Held(self._clock() + self._retry_after)

    def _over_daily_limit(self, session: Session, callback: Callback, now: datetime) -> bool:
        placed = session.scalar(
            select(func.count(Callback.id))
            .where(Callback.number == callback.number)
            .where(Callback.id != callback.id)
            .where(Callback.attempts > 0)
            .where(Callback.created_at > now - timedelta(days=1))
        )
        return (placed or 0) >= self._daily_limit

    def _finish(
        self, session: Session, callback: Callback, status: CallbackStatus, result: str
    ) -> Outcome:
        callback.status = status
        callback.last_result = result
        if callback.request_id is not None:
            record_event(
                session,
                callback.request_id,
                "callback",
                actor="worker",
                at=self._clock(),
                details={"callback": callback.id, "attempt": callback.attempts, "result": result},
            )
        session.commit()
        if status == CallbackStatus.FAILED:
            return Failed(result)
        return Done()
