"""A callback the carrier could not take (no trunk up) is no attempt: it waits for the trunk."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from tawasul.callbacks import CallbackPlacer, schedule_callback
from tawasul.config import Settings
from tawasul.delivery import Done, Held
from tawasul.hours import WorkingHours
from tawasul.models import Callback, CallbackStatus, OutboxMessage, utcnow
from tawasul.ports import CallLeg
from tests.helpers import Database


class Carrier:
    """Down for the first ``down_for`` calls, then the requester answers."""

    def __init__(self, down_for: int) -> None:
        self.down_for = down_for
        self.calls: list[dict[str, str]] = []

    def connect(
        self, first: str, second_number: str, variables: dict[str, str], timeout_s: float
    ) -> CallLeg:
        self.calls.append(variables)
        if len(self.calls) <= self.down_for:
            return CallLeg(False, "TRUNK_DOWN", placed=False)
        return CallLeg(True, "ANSWER")


def test_trunk_outages_use_no_attempt_and_the_callback_goes_out_after(
    database: Database, settings: Settings
) -> None:
    always_open = dataclasses.replace(
        settings, working_days=("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    always_open = dataclasses.replace(always_open, working_hours="00:00-23:59:59")
    carrier = Carrier(down_for=5)
    placer = CallbackPlacer(
        carrier, WorkingHours.from_settings(always_open), "Local/1001@x", timedelta(minutes=2), 10
    )
    with database.sessions() as session:
        row = schedule_callback(
            session,
            Callback(
                number="+966501234567",
                branch="jeddah",
                queued_at=utcnow(),
                due_at=utcnow(),
                max_attempts=2,
            ),
        )
        session.commit()
        row_id, callback_id = row.id, row.payload["callback_id"]
    outcomes = []
    for _ in range(6):  # five outages: more than the two attempts the callback has
        with database.sessions() as session:
            outcomes.append(placer.deliver(session, session.get(OutboxMessage, row_id)))
    assert all(isinstance(outcome, Held) for outcome in outcomes[:5]), outcomes
    assert outcomes[5] == Done()
    # The branch goes with the call: it chooses the number the requester sees.
    assert {call["TAWASUL_BRANCH"] for call in carrier.calls} == {"jeddah"}
    with database.sessions() as session:
        callback = session.get(Callback, callback_id)
        assert callback is not None
        assert (callback.status, callback.attempts) == (CallbackStatus.CONNECTED, 1)
