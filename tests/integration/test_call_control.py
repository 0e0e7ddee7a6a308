"""Click-to-call and callbacks through real Asterisk: agent first, then the requester."""

from __future__ import annotations

import pytest

from providers.ami import AMIClient
from providers.call_control import AmiCallControl, RefusedDestination

pytestmark = pytest.mark.asterisk

AGENT = "Local/1001@tawasul-simulated-agents"


@pytest.fixture
def control(ami: AMIClient) -> AmiCallControl:
    return AmiCallControl(ami, agent_ring_s=5)


def test_agent_then_requester_are_connected(control: AmiCallControl) -> None:
    leg = control.connect(AGENT, "+966501234567", {"TAWASUL_REQUEST_ID": "42"}, timeout_s=20)
    assert leg.connected
    assert leg.reason == "ANSWER"


def test_busy_requester_is_reported(control: AmiCallControl) -> None:
    leg = control.connect(AGENT, "+966501234569", {}, timeout_s=20)
    assert not leg.connected
    assert leg.reason == "BUSY"


def test_requester_not_answering_is_reported(ami: AMIClient) -> None:
    control = AmiCallControl(ami, agent_ring_s=5)
    leg = control.connect(AGENT, "+966501234568", {}, timeout_s=45)
    assert (leg.connected, leg.reason) == (False, "NOANSWER")


def test_agent_not_answering_is_reported(control: AmiCallControl) -> None:
    # A Local channel to a number that never answers stands in for an agent who does not pick up.
    leg = control.connect("Local/+966500000008@tawasul-simulated-phones", "+966501234567", {}, 20)
    assert not leg.connected
    assert leg.reason.startswith("AGENT_")


@pytest.mark.parametrize(
    "endpoint, number",
    [
        ("PJSIP/1001\r\nAction: Command", "+966501234567"),
        ("PJSIP/1001&PJSIP/evil", "+966501234567"),
        (AGENT, "+966501234567\r\nAction: Command"),
        (AGENT, "+442071234567"),  # not a Saudi mobile: refused by the default policy
        (AGENT, "0501234567"),  # not E.164
        (AGENT, '"; System(id)'),
    ],
)
def test_refused_before_anything_reaches_asterisk(
    control: AmiCallControl, endpoint: str, number: str
) -> None:
    with pytest.raises(RefusedDestination):
        control.connect(endpoint, number, {}, timeout_s=5)
