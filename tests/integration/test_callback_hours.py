"""The callback placer keeps to the hours of the callback's branch: its overnight range and its
own Ramadan override (no telephony needed: the call control is recorded)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tawasul.callbacks import CallbackPlacer, schedule_callback
from tawasul.config import Settings
from tawasul.delivery import Done, Held
from tawasul.hours import WorkingHours
from tawasul.models import Callback, OutboxMessage
from tests.api.support import RecordingCallControl
from tests.helpers import Database

RIYADH = ZoneInfo("Asia/Riyadh")


def owe(database: Database, branch: str) -> int:
    with database.sessions() as session:
        row = schedule_callback(
            session,
            Callback(
                number="+966501234567",
                branch=branch,
                agent_endpoint="PJSIP/1001",
                queued_at=datetime(2026, 3, 1, tzinfo=UTC),
                due_at=datetime(2026, 3, 1, tzinfo=UTC),
                max_attempts=2,
            ),
        )
        session.commit()
        return row.id


def test_callbacks_follow_their_branchs_hours(database: Database, settings: Settings) -> None:
    settings = dataclasses.replace(
        settings,
        working_hours="08:00-16:00",
        hours_overrides=("jeddah: hijri 09-01..09-30 = 21:00-02:00",),
    )
    # 01:30 in Riyadh on Tuesday 3 March 2026, 14 Ramadan 1447: Jeddah's night shift is on.
    now = datetime(2026, 3, 3, 1, 30, tzinfo=RIYADH)
    calls = RecordingCallControl()
    placer = CallbackPlacer(
        calls,
        WorkingHours.from_settings(settings),
        "",
        timedelta(minutes=5),
        timeout_s=20,
        clock=lambda: now.astimezone(UTC),
        branch_hours=lambda branch: WorkingHours.for_branch(settings, branch),
    )
    jeddah, riyadh = owe(database, "jeddah"), owe(database, "riyadh")
    with database.sessions() as session:
        for row_id, expected in ((jeddah, Done()), (riyadh, None)):
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            outcome = placer.deliver(session, row)
            if expected is not None:
                assert outcome == expected
            else:
                # Riyadh keeps its ordinary hours: held until 08:00 that morning.
                assert isinstance(outcome, Held)
                assert outcome.until == datetime(2026, 3, 3, 8, 0, tzinfo=RIYADH)
    assert len(calls.calls) == 1
