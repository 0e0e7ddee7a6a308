"""SIP identities of the staff: every account that takes calls (or supervises) gets an endpoint.

The identity is the account's extension: ``User.extension`` stays the dial string the rest of
the system uses (``PJSIP/1001``: the queue member, the first leg of click-to-call) and its
digits (``1001``) name the endpoint, its auth and its AOR. The SIP password is random, the
account's own (never the login password), kept encrypted in the database; Asterisk is given
only its digest HA1 (``md5_cred``), so its configuration holds no password in clear.

What reaches Asterisk is computed here from the database (:meth:`SipAccounts.identities`) and
handed to an :class:`EndpointPublisher` (an Asterisk configuration file and a reload, in
``providers.sip_endpoints``); :class:`EndpointSync` republishes within a second of a change and
every minute in any case, so an account changed by another process is also picked up.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tawasul.errors import ValidationError
from tawasul.models import Role, User
from tawasul.pii import PiiProtector
from tawasul.security_log import record

log = logging.getLogger(__name__)

SIP_EXTENSION = re.compile(r"PJSIP/([0-9]{2,10})")
"""An extension that is also a SIP identity: the digits name the generated endpoint."""
REALM = "tawasul"
"""The digest realm of every generated auth (the HA1 is computed for it)."""
SECRET_BYTES = 18
"""A 24-character URL-safe password: 144 bits, typed once into a desk phone."""


class SipDevice(StrEnum):
    """What registers as an account's endpoint."""

    WEBRTC = "webrtc"
    """The console page (WebRTC over the ``ws``/``wss`` transport, DTLS-SRTP, opus first)."""
    SIP = "sip"
    """A desk phone or softphone over plain SIP (UDP)."""


@dataclass(frozen=True)
class SipIdentity:
    """One endpoint as Asterisk is to know it."""

    user_id: int
    endpoint: str
    """The endpoint, auth and AOR name, also the SIP user name: the extension's digits."""
    display_name: str
    ha1: str
    """MD5 of ``endpoint:REALM:password`` (what ``md5_cred`` takes)."""
    device: SipDevice


@dataclass(frozen=True)
class SipCredentials:
    """What a phone needs to register as the account (given only to its owner)."""

    endpoint: str
    password: str
    realm: str
    ha1: str
    device: SipDevice


class EndpointPublisher(Protocol):
    """Where generated endpoints go: Asterisk's PJSIP configuration, reloaded."""

    def publish(self, identities: Sequence[SipIdentity], blocked: Sequence[str]) -> bool:
        """Make Asterisk know exactly these endpoints and refuse these addresses.

        Args:
            identities: every endpoint that may register and call, nothing else.
            blocked: IP addresses whose SIP requests are refused for now.

        Returns:
            Whether anything changed (False: Asterisk already had exactly this).

        Raises:
            TelephonyUnavailable: the configuration was written but Asterisk could not be
                asked to reload it (the next sync tries again).
        """


def sip_endpoint_of(user: User) -> str | None:
    """The SIP endpoint name of an account (its extension's digits), or None."""
    match = SIP_EXTENSION.fullmatch((user.extension or "").strip())
    return match.group(1) if match else None


def digest_ha1(endpoint: str, password: str, realm: str = REALM) -> str:
    """RFC 2617's HA1 for a SIP user: what Asterisk's ``md5_cred`` holds."""
    # MD5 is what SIP digest authentication is (RFC 2617; phones rarely do RFC 8760's SHA-256).
    return hashlib.md5(f"{endpoint}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def has_phone(user: User) -> bool:
    """Whether the account gets an endpoint: active, with a SIP extension, and either taking
    queue calls (``User.takes_calls``) or a supervisor or admin (their phone is what rings
    when they listen in on a call)."""
    if not user.is_active or sip_endpoint_of(user) is None:
        return False
    return bool(user.takes_calls) or user.role in (Role.SUPERVISOR, Role.ADMIN)


class SipAccounts:
    """Generate, rotate and reveal (to their owner) the SIP secrets of the accounts."""

    def __init__(self, pii: PiiProtector, on_change: Callable[[], None] | None = None) -> None:
        self._pii = pii
        self._on_change = on_change or (lambda: None)

    def _context(self, user: User) -> str:
        return f"sip:{user.id}"

    def _password(self, user: User) -> str | None:
        if not user.sip_secret:
            return None
        return self._pii.decrypt(user.sip_secret, self._context(user))

    def _new_secret(self, user: User) -> str:
        password = secrets.token_urlsafe(SECRET_BYTES)
        user.sip_secret = self._pii.encrypt(password, self._context(user))
        return password

    def credentials(self, session: Session, user: User) -> SipCredentials:
        """The account's SIP credentials, a secret generated if it has none yet.

        Args:
            session: committed on return when a secret was generated.
            user: the account; only its owner may be given the result.

        Returns:
            Endpoint, password, realm and HA1.

        Raises:
            ValidationError: the account has no SIP extension (``PJSIP/<digits>``).
        """
        endpoint = sip_endpoint_of(user)
        if endpoint is None:
            raise ValidationError("extension", "set a SIP extension (PJSIP/<digits>) first")
        password = self._password(user)
        if password is None:
            password = self._new_secret(user)
            session.commit()
            self._on_change()
        return SipCredentials(
            endpoint, password, REALM, digest_ha1(endpoint, password), SipDevice(user.sip_device)
        )

    def rotate(self, session: Session, user: User, actor: str) -> SipCredentials:
        """Replace the account's SIP secret; the old one stops working within seconds.

        Args:
            session: committed on return.
            user: the account.
            actor: who asked (``user:<id>``), for the security log.

        Returns:
            The new credentials (the password is shown once, to whoever asked).

        Raises:
            ValidationError: the account has no SIP extension.
        """
        endpoint = sip_endpoint_of(user)
        if endpoint is None:
            raise ValidationError("extension", "set a SIP extension (PJSIP/<digits>) first")
        password = self._new_secret(user)
        session.commit()
        record("sip_secret_rotated", actor, account=f"user:{user.id}")
        self._on_change()
        return SipCredentials(
            endpoint, password, REALM, digest_ha1(endpoint, password), SipDevice(user.sip_device)
        )

    def set_device(self, session: Session, user: User, device: SipDevice) -> None:
        """Choose what registers as the account's endpoint (the page or a SIP phone).

        Args:
            session: committed on return.
            user: the account.
            device: the page (WebRTC) or a desk phone / softphone (plain SIP).
        """
        user.sip_device = device.value
        session.commit()
        self._on_change()

    def identities(self, session: Session) -> list[SipIdentity]:
        """Every endpoint Asterisk should know now, secrets generated where missing.

        Args:
            session: committed on return when a secret was generated.

        Returns:
            One identity per account that has a phone (:func:`has_phone`); an extension claimed by
            two accounts goes to the older one (and is logged), never to both.
        """
        found: dict[str, SipIdentity] = {}
        generated = False
        for user in session.scalars(select(User).order_by(User.id)):
            endpoint = sip_endpoint_of(user)
            if endpoint is None or not has_phone(user):
                continue
            if endpoint in found:
                log.error("extension %s is claimed by user:%s too: not given", endpoint, user.id)
                continue
            password = self._password(user)
            if password is None:
                password = self._new_secret(user)
                generated = True
            found[endpoint] = SipIdentity(
                user.id,
                endpoint,
                user.username,
                digest_ha1(endpoint, password),
                SipDevice(user.sip_device),
            )
        if generated:
            session.commit()
        return list(found.values())


class EndpointSync:
    """Keeps Asterisk's endpoints equal to the accounts: soon after a change, and every minute."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        accounts: SipAccounts,
        publisher: EndpointPublisher,
        blocked: Callable[[], Sequence[str]] = lambda: (),
        interval_s: float = 60.0,
        wake_in: Callable[[], float | None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._accounts = accounts
        self._publisher = publisher
        self._blocked = blocked
        self._interval_s = interval_s
        self._wake_in = wake_in
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def sync(self) -> bool:
        """Publish the endpoints now (serialised: one publication at a time).

        Returns:
            Whether Asterisk's configuration changed.

        Raises:
            TelephonyUnavailable: Asterisk could not be asked to reload.
        """
        with self._lock, self._sessions() as session:
            identities = self._accounts.identities(session)
            return self._publisher.publish(identities, list(self._blocked()))

    def request(self) -> None:
        """Ask for a publication soon (from a request handler: never waits on Asterisk)."""
        self._wake.set()

    def start(self) -> EndpointSync:
        """Run the background thread: publish at once, on request, and every interval."""
        self._thread = threading.Thread(target=self._run, name="sip-endpoints", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.sync()
                failures = 0
            except Exception:
                failures += 1
                # Asterisk down: tried again after 2, 4, 8... seconds, at most every interval.
                delay = min(self._interval_s, 2.0**failures)
                log.exception("SIP endpoints: publishing failed; again in %.0f s", delay)
                self._stop.wait(delay)
                continue
            # A block that ends sooner than the interval is lifted when it ends.
            soon = self._wake_in()
            self._wake.wait(self._interval_s if soon is None else min(self._interval_s, soon + 0.2))
