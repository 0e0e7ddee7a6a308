"""Identity verification by a one-time code sent by SMS: the default ``IdentityVerifier``."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.errors import TooManyAttempts, ValidationError
from tawasul.models import IdentityVerification, Request, VerificationStatus, utcnow
from tawasul.notifications import SmsStage, notify
from tawasul.pii import PiiProtector
from tawasul.ports import VerificationOutcome
from tawasul.text_input import digits

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 3
MAX_CODES = 3
CODES_WINDOW = timedelta(minutes=10)
"""At most MAX_CODES one-time codes per request in CODES_WINDOW: the code's own limit. The
per-number SMS limit neither holds nor counts codes (a held code would expire before it left)."""


class IdentityDocument(StrEnum):
    """An identity document an agent may see at the counter to verify a requester in person."""

    NATIONAL_ID = "national_id"
    IQAMA = "iqama"
    PASSPORT = "passport"


IN_PERSON = "in_person"
"""The ``provider`` of an identity check an agent made by seeing the requester's document."""


def settled_outcome(
    verification: IdentityVerification, now: datetime
) -> VerificationOutcome | None:
    """The outcome of a check that no answer can change any more, else None.

    Shared by every identity provider: a verified check stays verified, a failed one is
    exhausted, and a pending one past ``expires_at`` fails now (the caller commits).

    Args:
        verification: the check being answered.
        now: the provider's clock (UTC, aware).

    Returns:
        VERIFIED, EXHAUSTED or EXPIRED for a settled check; None while it is still open.
    """
    if verification.status == VerificationStatus.VERIFIED:
        return VerificationOutcome.VERIFIED
    if verification.status == VerificationStatus.FAILED:
        return VerificationOutcome.EXHAUSTED
    if verification.expires_at <= now:
        verification.status = VerificationStatus.FAILED
        return VerificationOutcome.EXPIRED
    return None


class SmsCodeVerifier:
    """Texts a six-digit code to the request's callback number; the requester reads it back.

    Only a keyed hash of the code is stored (bound to the verification's id, so a table of
    hashes of the million possible codes cannot be built without the key).
    """

    name = "sms"

    def __init__(
        self,
        pii: PiiProtector,
        clock: Callable[[], datetime] = utcnow,
        ttl: timedelta = CODE_TTL,
        max_attempts: int = MAX_ATTEMPTS,
        make_code: Callable[[], str] | None = None,
    ) -> None:
        self._pii = pii
        self._clock = clock
        self._ttl = ttl
        self._max_attempts = max_attempts
        self._make_code = make_code or (
            lambda: f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        )

    def start(self, session: Session, request: Request, started_by: int) -> IdentityVerification:
        """Draw a code, store its hash, and owe the requester an SMS with it (sent at once).

        Raises:
            ValidationError: the request has no callback number.
            TooManyAttempts: ``codes_sent``: MAX_CODES codes went in the last CODES_WINDOW.
        """
        if not request.callback_number:
            raise ValidationError("callback_number", "the request has no number to text a code")
        now = self._clock()
        recent = sorted(
            session.scalars(
                select(IdentityVerification.created_at).where(
                    IdentityVerification.request_id == request.id,
                    IdentityVerification.provider == self.name,
                    IdentityVerification.created_at > now - CODES_WINDOW,
                )
            )
        )
        if len(recent) >= MAX_CODES:
            wait = recent[-MAX_CODES] + CODES_WINDOW - now
            raise TooManyAttempts(
                f"{MAX_CODES} codes were sent in {int(CODES_WINDOW.total_seconds() // 60)} "
                "minutes: wait before sending another",
                max(int(wait.total_seconds()) + 1, 1),
                reason="codes_sent",
            )
        verification = IdentityVerification(
            request_id=request.id,
            provider=self.name,
            status=VerificationStatus.PENDING,
            attempts=0,
            max_attempts=self._max_attempts,
            expires_at=now + self._ttl,
            started_by=started_by,
            created_at=now,
        )
        session.add(verification)
        session.flush()
        code = self._make_code()
        verification.secret_hash = self._digest(verification, code)
        # The code travels in the outbox row's parameters: it is a one-time secret, not personal
        # data, and it is worthless after CODE_TTL.
        notify(
            session,
            request,
            SmsStage.VERIFICATION_CODE,
            {"code": code, "minutes": int(self._ttl.total_seconds() // 60)},
        )
        return verification

    def check(
        self, session: Session, verification: IdentityVerification, answer: str
    ) -> VerificationOutcome:
        """Compare the code the requester read back, counting the attempt.

        The answer is read as a person types it (``٦٣٨٧٨٤``, ``638 784``); one that is not six
        digits even then is refused before it counts, since it cannot be anybody's code.

        Raises:
            ValidationError: naming ``code`` for an answer that is not six digits.
        """
        settled = settled_outcome(verification, self._clock())
        if settled is not None:
            return settled
        code = digits(answer, "code")
        if len(code) != CODE_DIGITS:
            raise ValidationError("code", f"the {CODE_DIGITS} digits of the code")
        verification.attempts += 1
        expected = verification.secret_hash or ""
        if hmac.compare_digest(self._digest(verification, code), expected):
            verification.status = VerificationStatus.VERIFIED
            verification.verified_at = self._clock()
            return VerificationOutcome.VERIFIED
        if verification.attempts >= verification.max_attempts:
            verification.status = VerificationStatus.FAILED
            return VerificationOutcome.EXHAUSTED
        return VerificationOutcome.WRONG

    def _digest(self, verification: IdentityVerification, code: str) -> str:
        return self._pii.fingerprint(f"otp:{verification.id}:{code}")
