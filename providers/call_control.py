"""Placing calls through Asterisk: the AMI implementation of the ``CallControl`` port.

``connect`` rings the first leg (an agent's softphone) with AMI Originate; when it answers,
``[tawasul-callback]`` dials the requester and reports the outcome with a ``TawasulCallback``
user event as soon as it is known (the requester answered, or the dial failed), so the caller
of ``connect`` does not wait for the conversation to end.
"""

from __future__ import annotations

import logging
import queue
import re
import uuid
from collections.abc import Sequence

from providers.ami import AMIClient, AMIError, Message
from tawasul.masking import mask_phone
from tawasul.ports import CallLeg, DeliveryError

log = logging.getLogger(__name__)

ENDPOINT = re.compile(r"(PJSIP|Local)/[A-Za-z0-9_.+@-]{1,64}")
"""What may be rung first: an agent's softphone, or a Local channel of the project."""
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
QUEUE_STAND_IN = re.compile(r"Local/[a-z][a-z0-9_]*@tawasul-queue-callback")
STAFF_PHONE = re.compile(r"PJSIP/([0-9]{2,10})")
"""A staff phone generated from an account (``tawasul.sip_accounts``)."""
AUTO_ANSWER_RING = "Local/{}@tawasul-agent-ring/n"
"""Rings a staff phone telling it to answer by itself (``dialplans/agents.conf``)."""
"""A queued callback's stand-in: it waits in the branch queue, not on an agent's softphone."""
VARIABLE_NAME = re.compile(r"TAWASUL_[A-Z_]{1,40}")
SAFE_VALUE = re.compile(r"[A-Za-z0-9_.+@:-]{0,64}")


class RefusedDestination(ValueError):
    """A number or endpoint that must not be dialled (shape or policy)."""


def check_endpoint(endpoint: str) -> str:
    """Return the endpoint if it is a softphone or Local channel name, else raise."""
    if not ENDPOINT.fullmatch(endpoint):
        raise RefusedDestination("not a dialable endpoint")
    return endpoint


def check_number(number: str, allowed_prefixes: Sequence[str]) -> str:
    """Return an E.164 number if policy allows calling it (Saudi mobiles unless configured)."""
    if not E164.fullmatch(number):
        raise RefusedDestination("not an E.164 number")
    if not any(number.startswith(prefix) for prefix in allowed_prefixes):
        raise RefusedDestination("destination not allowed by the callback policy")
    return number


class AmiCallControl:
    """Rings an agent, then the requester, through AMI Originate into ``tawasul-callback``."""

    def __init__(
        self,
        ami: AMIClient,
        allowed_prefixes: Sequence[str] = ("+9665",),
        agent_ring_s: int = 30,
        queue_wait_s: int = 330,
        auto_answer: bool = False,
    ) -> None:
        self._ami = ami
        self._allowed = tuple(allowed_prefixes)
        self._agent_ring_s = agent_ring_s
        self._queue_wait_s = queue_wait_s
        self._auto_answer = auto_answer
        """Click-to-call: the agent asked for the call, so their phone answers by itself."""

    def first_leg_wait_s(self, first: str) -> int:
        """How long the first leg may take to answer: an agent's softphone rings for
        ``agent_ring_s``; a queue stand-in waits its turn in the queue for ``queue_wait_s``."""
        return self._queue_wait_s if QUEUE_STAND_IN.fullmatch(first) else self._agent_ring_s

    def connect(
        self, first: str, second_number: str, variables: dict[str, str], timeout_s: float
    ) -> CallLeg:
        """Ring ``first``, then ``second_number``; return once the outcome is known.

        Raises:
            RefusedDestination: for an endpoint or number that must not be dialled.
            DeliveryError: (not permanent) when AMI is unreachable or Asterisk goes silent.
        """
        check_endpoint(first)
        check_number(second_number, self._allowed)
        for name, value in variables.items():
            if not VARIABLE_NAME.fullmatch(name) or not SAFE_VALUE.fullmatch(value):
                raise RefusedDestination(f"variable {name} refused")
        tag = uuid.uuid4().hex
        events: queue.Queue[Message] = queue.Queue()

        def collect(event: Message) -> None:
            if event.get("Uniqueid") == tag and event.get("Event") == "OriginateResponse":
                events.put(event)
            elif event.get("UserEvent") == "TawasulCallback" and event.get("Tag") == tag:
                events.put(event)

        remove = self._ami.add_listener(collect)
        first_wait_s = self.first_leg_wait_s(first)
        staff_phone = STAFF_PHONE.fullmatch(first)
        channel = first
        if self._auto_answer and staff_phone is not None:
            # Through a Local channel whose Dial adds Call-Info "answer-after=0": the page (or a
            # desk phone that honours it) answers at once; nobody else's INVITE carries it.
            channel = AUTO_ANSWER_RING.format(staff_phone.group(1))
        try:
            self._ami.originate(
                channel,
                context="tawasul-callback",
                exten="s",
                timeout_ms=first_wait_s * 1000,
                channel_id=tag,
                variables={
                    # Inherited ("__"): a Local first leg's other half (the queue stand-in)
                    # needs to know which callback it stands for.
                    **{"__" + name: value for name, value in variables.items()},
                    "__TAWASUL_CALL_TAG": tag,
                    "TAWASUL_CALLBACK_NUMBER": second_number,
                },
            )
            log.info("callback %s: ringing %s, then %s", tag, first, mask_phone(second_number))
            # Asterisk reports the first leg by the end of its wait; a few seconds of slack.
            return self._outcome(events, tag, max(timeout_s, first_wait_s + 15), timeout_s)
        except AMIError as exc:
            raise DeliveryError(f"AMI: {exc}", permanent=False) from exc
        finally:
            remove()

    def live_channels(self) -> set[str]:
        """The uniqueids of every channel Asterisk has now (AMI ``CoreShowChannels``).

        Raises:
            DeliveryError: (not permanent) when AMI is unreachable or the list does not end.
        """
        try:
            events = self._ami.collect(
                "CoreShowChannels", complete="CoreShowChannelsComplete", timeout_s=10.0
            )
        except AMIError as exc:
            raise DeliveryError(f"AMI: {exc}", permanent=False) from exc
        return {event["Uniqueid"] for event in events if event.get("Uniqueid")}

    def _outcome(
        self, events: queue.Queue[Message], tag: str, first_timeout_s: float, timeout_s: float
    ) -> CallLeg:
        agent_answered = False
        while True:
            try:
                event = events.get(timeout=timeout_s if agent_answered else first_timeout_s)
            except queue.Empty:
                if agent_answered:
                    return CallLeg(False, "NOREPLY")
                raise DeliveryError(
                    "no answer from Asterisk about the call", permanent=False
                ) from None
            if event.get("Event") == "OriginateResponse":
                if event.get("Response") != "Success":
                    return CallLeg(False, "AGENT_" + _reason(event.get("Reason", "")))
                agent_answered = True
                continue
            result = event.get("Result", "")
            log.info("callback %s: %s", tag, result)
            return CallLeg(result == "ANSWER", result)


def _reason(code: str) -> str:
    # OriginateResponse's Reason is Asterisk's control-frame number.
    return {"0": "FAILED", "1": "HANGUP", "3": "NOANSWER", "5": "BUSY", "8": "CONGESTION"}.get(
        code, "FAILED"
    )
