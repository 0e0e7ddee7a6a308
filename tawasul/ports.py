"""The ports: what the core needs from the outside world, as Protocols the adapters implement."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tawasul.models import IdentityVerification, Request


class DeliveryError(Exception):
    """A provider could not deliver. ``permanent`` says whether trying again can help."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmsReceipt:
    """What a provider said when it accepted a message."""

    provider_message_id: str
    delivered: bool = False
    """True when the provider confirms delivery at once (the local provider does)."""


class SmsSender(Protocol):
    """Sends a text message to one number."""

    name: str

    def send(self, to_number: str, body: str, idempotency_key: str) -> SmsReceipt:
        """Send ``body`` to ``to_number`` (E.164).

        Args:
            to_number: the destination, E.164.
            body: the rendered text.
            idempotency_key: the same key for every attempt at the same message, so a provider
                that honours it sends the message once even if we ask twice.

        Returns:
            The provider's receipt.

        Raises:
            DeliveryError: ``permanent=False`` for 5xx and timeouts (retry later),
                ``permanent=True`` for a refusal (4xx): retrying would not help.
        """
        ...


class Forwarder(Protocol):
    """Delivers a request to the ministry's system."""

    def forward(self, document: dict[str, Any], idempotency_key: str) -> str:
        """Deliver the request document; return the receiver's id for it.

        Raises:
            DeliveryError: as for :class:`SmsSender`.
        """
        ...


@dataclass(frozen=True)
class CallLeg:
    """The result of placing one call."""

    connected: bool
    reason: str
    placed: bool = True
    """False when the call never left (no trunk to the carrier was up): not an attempt on the
    requester, who is called again once the carrier is back."""


class CallControl(Protocol):
    """Places calls through the telephony system (AMI Originate in production)."""

    def connect(
        self, first: str, second_number: str, variables: dict[str, str], timeout_s: float
    ) -> CallLeg:
        """Ring ``first`` (an agent's endpoint or a queue), then dial ``second_number``.

        Raises:
            DeliveryError: ``permanent=False`` when the telephony system is unreachable.
        """
        ...

    def live_channels(self) -> set[str]:
        """The uniqueids of every channel the telephony system carries right now.

        Returns:
            Asterisk's ``UNIQUEID`` of each live channel (a call whose channel is not among
            them has ended, whatever any server last wrote about it).

        Raises:
            DeliveryError: ``permanent=False`` when the telephony system is unreachable.
        """
        ...


class VerificationOutcome(StrEnum):
    """What an identity provider said about one check."""

    VERIFIED = "verified"
    WRONG = "wrong"
    """The answer was wrong; attempts may be left."""
    PENDING = "pending"
    """The requester has not answered the provider yet (e-services approval in an app)."""
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    """Too many wrong answers: start a new verification."""
    REFUSED = "refused"
    """The provider refused: the identity does not match, or the requester declined."""


class IdentityVerifier(Protocol):
    """Proves that the person on the phone is the requester (one-time code, e-services...)."""

    name: str

    def start(self, session: Session, request: Request, started_by: int) -> IdentityVerification:
        """Begin a verification for the request's requester, in the caller's transaction.

        Args:
            session: the use case's session; the provider adds its row (and any outbox row).
            request: the request whose requester must prove who they are.
            started_by: the id of the user who asked for it.

        Returns:
            The new verification row (flushed), with its expiry.

        Raises:
            ValidationError: the request lacks what the provider needs (e.g. a callback number).
            DeliveryError: the provider cannot be reached.
        """
        ...

    def check(
        self, session: Session, verification: IdentityVerification, answer: str
    ) -> VerificationOutcome:
        """Check the requester's answer (or ask the provider), updating the row's state.

        Raises:
            DeliveryError: the provider cannot be reached.
        """
        ...
