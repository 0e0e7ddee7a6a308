"""The national e-services portal as an intake channel: signed calls, idempotent submissions.

The portal signs each call: ``HMAC-SHA256(key, "<timestamp>." + body)`` in hex, with the key's
id and the Unix timestamp in headers. A call is accepted when the key is known, the signature
matches, the timestamp is within the replay window, and this exact signed call was not seen
before. Several keys may be valid at once, so the portal can rotate them without downtime.
A submission names the portal's own request id: the same id again returns the first request.
The portal verified the requester's identity; that is recorded as a verification by "portal".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tawasul.errors import ConfigError, Conflict, Unauthenticated
from tawasul.intake import IntakeService, NewRequest
from tawasul.masking import mask_national_id
from tawasul.models import (
    Channel,
    IdentityVerification,
    Language,
    MeetingMode,
    PortalNonce,
    PortalSubmission,
    Request,
    VerificationStatus,
    utcnow,
)
from tawasul.pii import PiiProtector

log = logging.getLogger(__name__)

PROVIDER = "portal"
"""The name the portal's identity checks are recorded under."""
MAX_KEY_ID = 32


class BadSignature(Unauthenticated):
    """A portal call whose key, signature or timestamp does not hold (401)."""

    error_id = "bad-signature"

    def __init__(self, reason: str) -> None:
        super().__init__(f"portal signature refused: {reason}")
        self.reason = reason


class Replayed(Conflict):
    """A signed portal call that was already accepted once (409)."""

    error_id = "replayed"


def parse_keys(entries: Iterable[str]) -> dict[str, bytes]:
    """The signing keys by id, from "<key id>:<secret>" settings.

    Raises:
        ConfigError: an entry without an id or a secret, a secret under 32 characters, or an
            id given twice.
    """
    keys: dict[str, bytes] = {}
    for entry in entries:
        key_id, _, secret = entry.partition(":")
        key_id = key_id.strip()
        if not key_id or len(key_id) > MAX_KEY_ID or not secret:
            raise ConfigError("portal_keys: each entry is <key id>:<secret>")
        if len(secret) < 32:
            raise ConfigError(f"portal_keys: the secret of {key_id!r} is under 32 characters")
        if key_id in keys:
            raise ConfigError(f"portal_keys: key id {key_id!r} given twice")
        keys[key_id] = secret.encode("utf-8")
    return keys


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The signature of a portal call (what the portal computes, and what we check)."""
    return hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignedCall:
    """A portal call whose signature held."""

    key_id: str
    timestamp: int
    digest: str
    """Identifies this exact signed call, to refuse it a second time."""


class PortalGate:
    """Checks the portal's signatures and remembers the calls it let through."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        window_s: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._keys = dict(keys)
        self._window_s = window_s
        self._clock = clock

    def verify(
        self, key_id: str | None, timestamp: str | None, signature: str | None, body: bytes
    ) -> SignedCall:
        """Check one call's headers against its body.

        Raises:
            BadSignature: missing headers, an unknown key, a wrong signature, or a timestamp
                outside the replay window.
        """
        if not key_id or not timestamp or not signature:
            raise BadSignature("missing key id, timestamp or signature")
        key = self._keys.get(key_id)
        if key is None:
            raise BadSignature("unknown key id")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise BadSignature("the timestamp is not Unix seconds")
        expected = sign(key, timestamp, body)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise BadSignature("signature mismatch")
        sent = int(timestamp)
        now = self._clock().timestamp()
        if abs(now - sent) > self._window_s:
            raise BadSignature("timestamp outside the replay window")
        digest = hashlib.sha256(f"{key_id}:{timestamp}:{expected}".encode()).hexdigest()
        return SignedCall(key_id, sent, digest)

    def remember(self, session: Session, call: SignedCall) -> None:
        """Record an accepted call (committed); forget the ones past twice the window.

        Raises:
            Replayed: this exact signed call was accepted before.
        """
        now = self._clock()
        session.execute(
            delete(PortalNonce).where(
                PortalNonce.seen_at < now - timedelta(seconds=2 * self._window_s)
            )
        )
        try:
            with session.begin_nested():
                session.add(PortalNonce(digest=call.digest, seen_at=now))
        except IntegrityError:
            session.commit()
            raise Replayed("this signed call was already received") from None
        session.commit()


@dataclass(frozen=True)
class PortalSubmissionData:
    """What the portal submits for a requester it has identified (personal data in clear)."""

    portal_request_id: str
    national_id: str
    mobile: str | None
    language: Language
    branch: str
    meeting_mode: MeetingMode | None = None
    target_official: str | None = None
    verified_at: datetime | None = None


class PortalIntake:
    """Files the portal's submissions, once per portal request id."""

    def __init__(
        self, intake: IntakeService, pii: PiiProtector, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._intake = intake
        self._pii = pii
        self._clock = clock

    def submit(
        self, session: Session, data: PortalSubmissionData, key_id: str
    ) -> tuple[Request, bool]:
        """File the submission, or find the request it already filed.

        Args:
            session: the database session; committed on return.
            data: the validated submission.
            key_id: the signing key, kept with the submission.

        Returns:
            The request, and True when this call created it.

        Raises:
            Conflict: the portal request id was already used with other content.
            ValidationError: an invalid national ID.
        """
        payload_hash = self._pii.fingerprint(
            "portal:" + json.dumps(asdict(data), sort_keys=True, default=str)
        )
        found = self._existing(session, data.portal_request_id, payload_hash)
        if found is not None:
            return found, False
        now = self._clock()

        def with_portal_records(request: Request) -> None:
            request.meeting_mode = data.meeting_mode
            request.target_official = data.target_official
            session.add(
                PortalSubmission(
                    portal_request_id=data.portal_request_id,
                    request_id=request.id,
                    key_id=key_id,
                    payload_hash=payload_hash,
                    received_at=now,
                )
            )
            session.add(
                IdentityVerification(
                    request_id=request.id,
                    provider=PROVIDER,
                    status=VerificationStatus.VERIFIED,
                    external_id=data.portal_request_id,
                    attempts=0,
                    max_attempts=0,
                    expires_at=now,
                    started_by=None,
                    created_at=now,
                    verified_at=data.verified_at or now,
                )
            )

        try:
            request = self._intake.file_request(
                session,
                NewRequest(
                    national_id=data.national_id,
                    language=data.language,
                    branch=data.branch,
                    channel=Channel.PORTAL,
                    callback_number=data.mobile,
                    details={"identity_verified_by": PROVIDER},
                ),
                actor=PROVIDER,
                on_filed=with_portal_records,
            )
        except IntegrityError:
            # The portal sent the same id twice at once: the other call filed it.
            session.rollback()
            found = self._existing(session, data.portal_request_id, payload_hash)
            if found is None:
                raise
            return found, False
        log.info(
            "portal request %s filed as %s for %s",
            data.portal_request_id,
            request.reference_number,
            mask_national_id(data.national_id),
        )
        return request, True

    def _existing(
        self, session: Session, portal_request_id: str, payload_hash: str
    ) -> Request | None:
        submission = session.scalar(
            select(PortalSubmission).where(PortalSubmission.portal_request_id == portal_request_id)
        )
        if submission is None:
            return None
        if not hmac.compare_digest(submission.payload_hash, payload_hash):
            raise Conflict("this portal request id was already used with other content")
        request = session.get(Request, submission.request_id)
        assert request is not None  # a foreign key
        return request
