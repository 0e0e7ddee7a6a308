"""Toll-fraud guard: one number cannot make the centre call it back without end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tawasul.callbacks import CallbackPlacer, schedule_callback
from tawasul.config import Settings
from tawasul.delivery import Done, Failed
from tawasul.hours import WorkingHours
from tawasul.models import Callback, OutboxMessage, utcnow
from tawasul.ports import CallLeg
from tests.helpers import Database


class AlwaysAnswers:
    def __init__(self) -> None:
        self.dialled: list[str] = []

    def connect(
        self, first: str, second_number: str, variables: dict[str, str], timeout_s: float
    ) -> CallLeg:
        self.dialled.append(second_number)
        return CallLeg(True, "ANSWER")


def test_a_number_gets_at_most_the_daily_limit_of_callbacks(
    database: Database, settings: Settings
) -> None:
    import dataclasses

    open_hours = dataclasses.replace(
        settings,
        working_days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        working_hours="00:00-23:59:59",
    )
    calls = AlwaysAnswers()
    placer = CallbackPlacer(
        calls,
        WorkingHours.from_settings(open_hours),
        "Local/1001@x",
        timedelta(minutes=5),
        10,
        daily_limit=3,
    )
    outcomes = []
    for number in ["+966501234567"] * 4 + ["+966509999999"]:
        with database.sessions() as session:
            row = schedule_callback(
                session,
                Callback(number=number, branch="riyadh", queued_at=utcnow(), due_at=utcnow()),
            )
            session.commit()
            outcomes.append(placer.deliver(session, session.get(OutboxMessage, row.id)))
    assert outcomes == [
        Done(),
        Done(),
        Done(),
        Failed("daily callback limit for this number"),
        Done(),
    ]
    assert calls.dialled == ["+966501234567"] * 3 + ["+966509999999"]
    with database.sessions() as session:
        kept = session.scalars(select(Callback).where(Callback.attempts == 0)).one()
        assert kept.last_result == "daily callback limit for this number"
