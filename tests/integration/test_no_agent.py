"""A caller who wants an agent when none is logged in: a callback, not "call again later"."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.scripts.queue_callback import placeholder_endpoint
from providers.ami import AMIClient
from tawasul.models import Callback, CallOutcome
from tests.integration.support import IVR, Phone, finished_call

pytestmark = pytest.mark.asterisk

QUEUE = "tawasul-riyadh"
CALLER = "0501234567"
# English (2 during the notice), 3 for an agent; then 1 (again and again, whenever the question
# comes) to confirm the callback on the caller ID.
ASKS_FOR_AN_AGENT = "w1/2/w2/3/w8/1/w2/1/w2/1/w2/1/w30"


def agents_in(ami: AMIClient, queue: str) -> list[str]:
    events = ami.collect("QueueStatus", {"Queue": queue}, complete="QueueStatusComplete")
    return [e.get("Name", "") for e in events if e.get("Event") == "QueueMember"]


def test_no_agent_logged_in_offers_a_callback(ivr: IVR, phone: Phone, ami: AMIClient) -> None:
    assert agents_in(ami, QUEUE) == []  # joinempty = no: the queue refuses every caller
    placed = phone.call(ASKS_FOR_AN_AGENT, caller_id=CALLER)
    phone.wait_hangup(placed, timeout_s=90)
    call = finished_call(ivr.database, placed.ivr_uniqueid)
    steps = [entry["step"] for entry in call.journey]
    # What really happened: sent to the queue, refused (no agent), a callback booked instead.
    assert call.outcome == CallOutcome.NO_AGENT, call.journey
    sent = steps.index("to_agent")
    assert steps[sent + 1] == "queue_refused"
    assert call.journey[sent + 1]["input"] == "JOINEMPTY"
    assert steps[-1] == "queue_callback_booked", call.journey
    with ivr.database.sessions() as session:
        callback = session.scalars(select(Callback)).one()
    assert callback.call_id == call.id
    assert callback.number == "+966501234567"
    assert callback.branch == "riyadh"
    # A queued callback: placed through the branch queue, keeping the caller's place.
    assert callback.agent_endpoint == placeholder_endpoint("riyadh")
    assert callback.due_at <= callback.created_at
