"""The national e-services identity API as an ``IdentityVerifier`` (HTTP, JSON).

The requester approves the check in the e-services app; the agent then asks us to check, and
we ask the API. Protocol, as the integration agreement describes it:

- ``POST {base}/verifications`` with ``{"national_id", "reference"}`` answers
  ``{"id": "<transaction>", "expires_in": <seconds>}``.
- ``GET {base}/verifications/{id}`` answers ``{"status": "pending" | "approved" | "rejected"
  | "expired"}``.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tawasul.errors import ValidationError
from tawasul.identity import settled_outcome
from tawasul.masking import mask_national_id
from tawasul.models import IdentityVerification, Request, VerificationStatus, utcnow
from tawasul.pii import PiiProtector
from tawasul.ports import DeliveryError, VerificationOutcome

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024
MAX_EXPIRY_S = 3600


class NationalIdentityVerifier:
    """Asks the national e-services identity API whether the requester approved the check."""

    name = "national"

    def __init__(
        self,
        base_url: str,
        pii: PiiProtector,
        timeout_s: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("the identity API URL must be http(s)")
        self._base = base_url.rstrip("/")
        self._pii = pii
        self._timeout_s = timeout_s
        self._clock = clock

    def start(self, session: Session, request: Request, started_by: int) -> IdentityVerification:
        """Ask the API to push an approval request to the requester."""
        requester = request.requester
        if requester is None:
            raise ValidationError("requester", "the request has no identified requester")
        national_id = self._pii.decrypt(requester.national_id_encrypted, "national_id")
        answer = self._call(
            "POST",
            "/verifications",
            {"national_id": national_id, "reference": request.reference_number},
        )
        transaction = answer.get("id")
        expires_in = answer.get("expires_in", 300)
        if not isinstance(transaction, str) or not 1 <= len(transaction) <= 128:
            raise DeliveryError("the identity API gave no transaction id", permanent=False)
        if not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_EXPIRY_S:
            expires_in = 300
        now = self._clock()
        verification = IdentityVerification(
            request_id=request.id,
            provider=self.name,
            status=VerificationStatus.PENDING,
            external_id=transaction,
            attempts=0,
            max_attempts=1,
            expires_at=now + timedelta(seconds=expires_in),
            started_by=started_by,
            created_at=now,
        )
        session.add(verification)
        session.flush()
        log.info("identity check %s started for %s", transaction, mask_national_id(national_id))
        return verification

    def check(
        self, session: Session, verification: IdentityVerification, answer: str
    ) -> VerificationOutcome:
        """Ask the API how the requester answered (the agent's ``answer`` is not used)."""
        settled = settled_outcome(verification, self._clock())
        if settled is not None:
            return settled
        transaction = urllib.parse.quote(verification.external_id or "", safe="")
        status = self._call("GET", f"/verifications/{transaction}", None).get("status")
        if status == "approved":
            verification.status = VerificationStatus.VERIFIED
            verification.verified_at = self._clock()
            return VerificationOutcome.VERIFIED
        if status == "pending":
            return VerificationOutcome.PENDING
        verification.status = VerificationStatus.FAILED
        return VerificationOutcome.EXPIRED if status == "expired" else VerificationOutcome.REFUSED

    def _call(self, method: str, path: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        http = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self._base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(http, timeout=self._timeout_s) as response:  # noqa: S310
                body = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise DeliveryError(
                f"identity API answered {exc.code}", permanent=400 <= exc.code < 500
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"identity API unreachable: {exc}", permanent=False) from exc
        if len(body) > MAX_ANSWER_BYTES:
            raise DeliveryError("identity API answer too large", permanent=False)
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise DeliveryError("identity API answered something that is not JSON", False) from exc
        if not isinstance(answer, dict):
            raise DeliveryError("identity API answered something that is not an object", False)
        return answer
