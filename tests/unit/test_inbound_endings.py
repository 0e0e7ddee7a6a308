"""How an inbound call ended: one ending a call, the first that applies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tawasul.metrics.inbound import ENDINGS, ending
from tawasul.models import Call, CallOutcome, QueueCall

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def call(outcome: CallOutcome, *steps: str, ended: bool = True) -> Call:
    return Call(
        uniqueid="1.1",
        started_at=T0,
        ended_at=T0 if ended else None,
        outcome=outcome,
        journey=[{"step": step} for step in steps],
    )


def visit(outcome: str) -> QueueCall:
    return QueueCall(uniqueid="1.1", queue="tawasul-riyadh", joined_at=T0, outcome=outcome)


@pytest.mark.parametrize(
    ("made", "visits", "booked", "expected"),
    [
        (call(CallOutcome.IN_PROGRESS, ended=False), [], False, "in_progress"),
        (call(CallOutcome.REQUEST_FILED), [visit("answered")], False, "answered_by_agent"),
        (call(CallOutcome.NO_AGENT), [visit("exited")], True, "callback"),
        (call(CallOutcome.HUNG_UP, "callback_booked"), [], False, "callback"),
        (call(CallOutcome.SENT_TO_AGENT), [visit("abandoned")], False, "abandoned_in_queue"),
        (call(CallOutcome.REQUEST_FILED, "voice_message_recorded"), [], False, "request_filed"),
        (call(CallOutcome.HUNG_UP, "status_told"), [], False, "status_heard"),
        (call(CallOutcome.NO_AGENT), [], False, "no_agent"),
        (call(CallOutcome.SENT_TO_AGENT), [visit("exited")], False, "no_agent"),
        (call(CallOutcome.SENT_TO_AGENT), [], False, "sent_to_agent"),
        (call(CallOutcome.HUNG_UP, "out_of_hours"), [], False, "out_of_hours"),
        (call(CallOutcome.FAILED), [], False, "failed"),
        (call(CallOutcome.HUNG_UP, "main_menu"), [], False, "hung_up_in_menu"),
    ],
)
def test_each_call_gets_the_first_ending_that_applies(made, visits, booked, expected):
    assert ending(made, visits, booked) == expected
    assert expected in ENDINGS
