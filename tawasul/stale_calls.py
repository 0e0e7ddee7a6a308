"""Calls whose FastAGI server died: closed once Asterisk no longer carries their channel.

A server killed mid-call (``kill -9``, a crash, a power cut) never writes the end of the calls it
was serving: their ``Call`` rows would stay open for ever and count as live. The caller was fine
(the dialplan's failure path plays the apology and queues them); only our record is wrong. The
telephony system knows which channels still exist, so a call whose channel is gone has ended:
the next FastAGI server closes such calls at start-up, and the worker does it periodically. A
call still carried (on a live server, or waiting in the queue after the failover) is left
alone whatever its age.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tawasul.models import Call, CallOutcome, QueueCall, utcnow
from tawasul.ports import CallControl

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=5)
"""A live server writes the end of a call within moments of its hang-up; a call whose channel
has been gone this long was not being served by anyone."""


def close_calls_without_channel(
    session: Session,
    calls: CallControl,
    clock: Callable[[], datetime] = utcnow,
    grace: timedelta = GRACE,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Record the end of every open call whose channel Asterisk no longer has.

    The end time is Asterisk's own: when the channel left the agent queue, if the queue log
    has it (the failover path queues the caller); else the moment its absence was seen. The
    outcome of a call that was still in the menu is ``failed`` (its script's server died and
    the dialplan took over); one already sent to an agent or that filed a request keeps its
    outcome. Partial requests are left as they are.

    Args:
        session: a session with no transaction in progress; committed here.
        calls: the telephony system, asked which channels are live.
        clock: the current time.
        grace: how long a live server has to write the end of a call whose channel has just
            gone, before the call counts as orphaned.
        sleep: waits out ``grace`` (tests pass their own).

    Returns:
        The uniqueids of the calls closed.

    Raises:
        DeliveryError: when the telephony system cannot say which channels are live (nothing
            is closed: a call is never closed on a guess).
    """
    # The snapshot first: a call opened after it is not in it, and must not be closed for that.
    seen_at = clock()
    live = calls.live_channels()
    gone = [
        call.id
        for call in session.scalars(
            select(Call).where(Call.ended_at.is_(None)).where(Call.started_at < seen_at)
        )
        if call.uniqueid not in live
    ]
    session.rollback()  # no transaction (SQLite's is a write lock) while the grace runs out
    if not gone:
        return []
    sleep(grace.total_seconds())
    closed: list[str] = []
    for call in session.scalars(
        select(Call)
        .where(Call.id.in_(gone))
        .where(Call.ended_at.is_(None))  # its own server may have written it meanwhile
        .order_by(Call.id)
        .with_for_update(skip_locked=True)
    ):
        left_queue = session.scalar(
            select(func.max(func.coalesce(QueueCall.ended_at, QueueCall.left_at))).where(
                QueueCall.uniqueid == call.uniqueid
            )
        )
        ended_at = left_queue if left_queue is not None else seen_at
        call.ended_at = ended_at
        if call.outcome == CallOutcome.IN_PROGRESS:
            call.outcome = CallOutcome.FAILED
        elapsed = (ended_at - call.started_at).total_seconds()
        call.journey = [*call.journey, {"step": "server_lost", "t": round(elapsed, 3)}]
        closed.append(call.uniqueid)
    session.commit()
    if closed:
        log.warning("closed %d calls whose server died: %s", len(closed), ", ".join(closed))
    return closed
