"""Asterisk's SIP security events and ChanSpy, through AMI.

Failed registrations arrive as AMI ``security`` events (``ChallengeResponseFailed``: a wrong
password; ``InvalidAccountID``: no such endpoint; ``InvalidPassword``): each becomes a
``sip_auth_failed`` security event with the address and the account masked, and counts towards
the address's block (:class:`~tawasul.sip_guard.RegistrationGuard`).
"""

from __future__ import annotations

import ipaddress
import logging

from providers.ami import AMIClient, AMIError, Message
from tawasul.errors import TelephonyUnavailable, ValidationError
from tawasul.masking import mask_digits
from tawasul.security_log import record
from tawasul.sip_guard import RegistrationGuard
from tawasul.supervision import SpyMode

log = logging.getLogger(__name__)

FAILURES = frozenset({"ChallengeResponseFailed", "InvalidAccountID", "InvalidPassword"})
SPY_CONTEXT = "tawasul-supervisor-spy"


def remote_address(value: str) -> str | None:
    """The IP address in a security event's ``RemoteAddress`` (``IPV4/UDP/1.2.3.4/5060``)."""
    parts = value.split("/")
    if len(parts) < 3:
        return None
    try:
        return str(ipaddress.ip_address(parts[2]))
    except ValueError:
        return None


def mask_address(address: str) -> str:
    """An address for the security log: the network kept, the host hidden (personal data)."""
    parsed = ipaddress.ip_address(address)
    if parsed.version == 4:
        return ".".join(address.split(".")[:3] + ["x"])
    return str(ipaddress.ip_network(f"{address}/48", strict=False).network_address) + "x"


class SipSecurityListener:
    """An AMI listener: failed SIP authentication → security log and the address's count."""

    def __init__(self, guard: RegistrationGuard) -> None:
        self._guard = guard

    def __call__(self, event: Message) -> None:
        """Handle one AMI event (others are ignored)."""
        name = event.get("Event", "")
        if name not in FAILURES or event.get("Service") != "PJSIP":
            return
        address = remote_address(event.get("RemoteAddress", ""))
        if address is None:
            return
        masked = mask_address(address)
        # An extension is kept; anything else typed (a phone number a scanner tries) is masked.
        account = event.get("AccountID", "")[:32]
        if not (account.isdigit() and len(account) <= 6):
            account = mask_digits(account)
        record("sip_auth_failed", f"sip:{masked}", account=account, reason=name)
        self._guard.failed(address, masked)


class AmiCallSpy:
    """Originate the supervisor's phone into ``tawasul-supervisor-spy`` (ChanSpy)."""

    def __init__(self, ami: AMIClient, ring_s: int = 30) -> None:
        self._ami = ami
        self._ring_s = ring_s

    def spy(self, supervisor_endpoint: str, agent_endpoint: str, mode: SpyMode) -> None:
        """See ``tawasul.supervision.CallSpy``."""
        if not (supervisor_endpoint.isdigit() and agent_endpoint.isdigit()):
            raise ValidationError("extension", "not a SIP endpoint")
        try:
            self._ami.originate(
                f"PJSIP/{supervisor_endpoint}",
                context=SPY_CONTEXT,
                exten=mode.value,
                caller_id=f'"{mode.value} {agent_endpoint}" <{agent_endpoint}>',
                variables={"TAWASUL_SPY_TARGET": f"PJSIP/{agent_endpoint}"},
                timeout_ms=self._ring_s * 1000,
            )
        except AMIError as exc:
            log.warning("spy on %s for %s failed: %s", agent_endpoint, supervisor_endpoint, exc)
            raise TelephonyUnavailable(f"Asterisk did not ring your phone: {exc}") from exc
