"""Callbacks placed through AMI against real Asterisk: agent first, then the requester."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import select

from providers.ami import AMIClient
from providers.call_control import AmiCallControl
from tawasul.callbacks import CallbackPlacer, schedule_callback
from tawasul.config import Settings
from tawasul.delivery import Done, Failed, Held
from tawasul.hours import WorkingHours
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import (
    Callback,
    CallbackStatus,
    Language,
    OutboxMessage,
    OutboxStatus,
    RequestEvent,
    utcnow,
)
from tawasul.pii import PiiProtector
from tawasul_cli.asterisk import Harness
from tawasul_cli.redis_server import RedisServer
from tests.helpers import Database
from tests.integration.support import WorkerProcess, wait_until, worker_env

pytestmark = pytest.mark.asterisk

AGENT = "Local/1001@tawasul-simulated-agents"
ALWAYS_OPEN = dict(
    working_days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), working_hours="00:00-23:59:59"
)


def owe_callback(database: Database, pii: PiiProtector, number: str, agent: str = AGENT) -> int:
    with database.sessions() as session:
        request = IntakeService(pii).file_request(
            session, NewRequest("1000000008", Language.AR, "riyadh", callback_number=number)
        )
        callback = Callback(
            request_id=request.id,
            number=number,
            branch="riyadh",
            agent_endpoint=agent,
            queued_at=utcnow(),
            due_at=utcnow(),
            max_attempts=2,
        )
        row = schedule_callback(session, callback)
        session.commit()
        return row.id


def placer(ami: AMIClient, settings: Settings, open_hours: bool = True) -> CallbackPlacer:
    import dataclasses

    hours_settings = dataclasses.replace(settings, **ALWAYS_OPEN) if open_hours else settings
    return CallbackPlacer(
        AmiCallControl(ami, agent_ring_s=5),
        WorkingHours.from_settings(hours_settings),
        "",
        timedelta(minutes=5),
        timeout_s=20,
    )


def deliver(database: Database, place: CallbackPlacer, row_id: int) -> object:
    with database.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return place.deliver(session, row)


def test_callback_rings_agent_then_requester(
    database: Database, ami: AMIClient, settings: Settings, pii: PiiProtector
) -> None:
    row_id = owe_callback(database, pii, "+966501234567")
    assert deliver(database, placer(ami, settings), row_id) == Done()
    with database.sessions() as session:
        callback = session.scalars(select(Callback)).one()
        assert (callback.status, callback.attempts, callback.last_result) == (
            CallbackStatus.CONNECTED,
            1,
            "ANSWER",
        )
        event = session.scalars(select(RequestEvent).where(RequestEvent.kind == "callback")).one()
        assert event.details == {"callback": callback.id, "attempt": 1, "result": "ANSWER"}


def test_busy_requester_is_tried_again_then_given_up(
    database: Database, ami: AMIClient, settings: Settings, pii: PiiProtector
) -> None:
    row_id = owe_callback(database, pii, "+966501234569")  # ends in 9: busy
    place = placer(ami, settings)
    first = deliver(database, place, row_id)
    assert isinstance(first, Held) and first.until > utcnow() + timedelta(minutes=4)
    assert deliver(database, place, row_id) == Failed("BUSY")
    with database.sessions() as session:
        callback = session.scalars(select(Callback)).one()
        assert (callback.status, callback.attempts) == (CallbackStatus.FAILED, 2)


def test_no_call_outside_working_hours(
    database: Database, ami: AMIClient, settings: Settings, pii: PiiProtector
) -> None:
    import dataclasses

    closed = dataclasses.replace(
        settings,
        working_days=("fri",),
        working_hours="00:00-00:01",
        holidays=(utcnow().astimezone().date().isoformat(),),
    )
    row_id = owe_callback(database, pii, "+966501234567")
    outcome = deliver(database, placer(ami, closed, open_hours=False), row_id)
    assert isinstance(outcome, Held) and outcome.until > utcnow()
    with database.sessions() as session:
        assert session.scalars(select(Callback)).one().attempts == 0


def test_asterisk_restart_in_the_middle_of_a_batch(
    database: Database,
    asterisk: Harness,
    settings: Settings,
    pii: PiiProtector,
    redis_server: RedisServer,
    redis: Redis,
) -> None:
    rows = [
        owe_callback(database, pii, f"+96650123450{n}", agent="Local/2001@tawasul-simulated-agents")
        for n in range(6)
    ]
    env = worker_env(
        settings,
        redis_server.url,
        database_url=database.url,
        ami_port=str(asterisk.settings.ami_port),
        ami_secret=asterisk.ami_secret(),
        job_retry_intervals="2,4,8,16",
        callback_timeout_s="15",
        callback_agent_ring_s="10",
        callback_retry_s="5",
    )
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    worker = WorkerProcess(env, settings.var_dir / "worker.log", ami=True).start()

    def connected() -> int:
        with database.sessions() as session:
            return len(
                session.scalars(
                    select(Callback).where(Callback.status == CallbackStatus.CONNECTED)
                ).all()
            )

    try:
        wait_until(lambda: connected() >= 2, 60, "two callbacks to connect")
        assert connected() < 6, "the batch finished before Asterisk could be restarted"
        asterisk.down()
        asterisk.up()
        wait_until(lambda: connected() == 6, 120, "the remaining callbacks after the restart")
    finally:
        worker.stop()
    with database.sessions() as session:
        statuses = session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.id.in_(rows))
        ).all()
        assert set(statuses) == {OutboxStatus.DONE}
        # A call the restart cut off may take a second attempt; none ran out of attempts.
        attempts = session.scalars(select(Callback.attempts)).all()
        assert all(1 <= n <= 2 for n in attempts)
