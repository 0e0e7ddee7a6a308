"""``/portal/requests``: the national e-services portal files requests it has identified.

Not for staff: the portal signs each call (see :mod:`tawasul.portal`) instead of signing in.
A refused signature is logged on the ``tawasul.security`` logger, without the body.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from agent_api import parsing
from agent_api.openapi_parts import ERRORS, MOBILE, NATIONAL_ID, answer, enum_of, request_body
from agent_api.services import db, services
from tawasul.errors import ValidationError
from tawasul.ids import normalize_saudi_mobile, validate_national_id
from tawasul.intake import IntakeService
from tawasul.masking import scrub
from tawasul.models import Language, MeetingMode, Request
from tawasul.pii import PiiProtector
from tawasul.portal import (
    BadSignature,
    PortalGate,
    PortalIntake,
    PortalSubmissionData,
    parse_keys,
)
from tawasul.security_log import record

bp = Blueprint("portal", __name__, url_prefix="/portal")
security_log = logging.getLogger("tawasul.security")

KEY_ID_HEADER = "X-Portal-Key-Id"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
SIGNATURE_HEADER = "X-Portal-Signature"
FIELDS = {
    "portal_request_id",
    "national_id",
    "mobile",
    "language",
    "branch",
    "meeting_mode",
    "target_official",
    "verified_at",
}


def _portal() -> tuple[PortalGate, PortalIntake]:
    found = current_app.extensions.get("tawasul.portal")
    if found is None:
        settings = services().settings
        pii = PiiProtector.from_master_key(settings.resolved_secret_key())
        found = current_app.extensions["tawasul.portal"] = (
            PortalGate(parse_keys(settings.portal_keys), settings.portal_replay_window_s),
            PortalIntake(IntakeService(pii), pii),
        )
    return found  # type: ignore[no-any-return]


def _dump(filed: Request, created: bool) -> dict[str, object]:
    return {
        "created": created,
        "request": {
            "id": filed.id,
            "reference_number": filed.reference_number,
            "status": filed.status.value,
            "channel": filed.channel.value,
            "branch": filed.branch,
        },
    }


@bp.post("/requests")
def submit() -> ResponseReturnValue:
    """File a request the portal submits (signed); the same portal id again: the same request."""
    gate, intake = _portal()
    body = request.get_data(cache=True)
    key_id = request.headers.get(KEY_ID_HEADER)
    try:
        signed = gate.verify(
            key_id,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            body,
        )
    except BadSignature as exc:
        if g.get("db") is not None:
            g.db.rollback()  # frees SQLite's write lock for the event
        record(
            "portal_signature_refused",
            f"portal:{scrub((key_id or '')[:32])}",
            reason=exc.reason,
            remote=request.remote_addr,
            size=len(body),
            body_sha256=hashlib.sha256(body).hexdigest()[:16],
        )
        raise
    gate.remember(db(), signed)
    data = parsing.body(FIELDS)
    mobile = parsing.text(data, "mobile", max_len=64)
    branch = parsing.text(data, "branch", max_len=32) or services().settings.default_branch
    if branch not in services().settings.branches:
        raise ValidationError("branch", "not a branch of this centre")
    submission = PortalSubmissionData(
        portal_request_id=parsing.text(data, "portal_request_id", required=True, max_len=64) or "",
        national_id=validate_national_id(
            parsing.text(data, "national_id", required=True, max_len=64) or ""
        ),
        mobile=normalize_saudi_mobile(mobile, "mobile") if mobile else None,
        language=parsing.choice(data, "language", Language) or Language.AR,
        branch=branch,
        meeting_mode=parsing.choice(data, "meeting_mode", MeetingMode),
        target_official=parsing.text(data, "target_official", max_len=64),
        verified_at=parsing.moment(data, "verified_at"),
    )
    if not submission.portal_request_id.strip():
        raise ValidationError("portal_request_id", "is required")
    filed, created = intake.submit(db(), submission, signed.key_id)
    return jsonify(_dump(filed, created)), 201 if created else 200


OPENAPI_PATHS: dict[str, Any] = {
    "/portal/requests": {
        "post": {
            "summary": "The e-services portal files a request it identified (HMAC-signed)",
            "description": (
                "X-Portal-Signature is hex HMAC-SHA256 over '<X-Portal-Timestamp>.<body>' "
                "with the key named by X-Portal-Key-Id. Idempotent on portal_request_id."
            ),
            "security": [{"portalSignature": []}],
            "parameters": [
                {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                for name in (KEY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
            ],
            "requestBody": request_body(
                {
                    "portal_request_id": {"type": "string", "maxLength": 64},
                    "national_id": NATIONAL_ID,
                    "mobile": MOBILE,
                    "language": enum_of(Language),
                    "branch": {"type": "string"},
                    "meeting_mode": enum_of(MeetingMode),
                    "target_official": {"type": "string", "maxLength": 64},
                    "verified_at": {"type": "string", "format": "date-time"},
                },
                ("portal_request_id", "national_id"),
            ),
            "responses": {
                **answer("201", "filed"),
                **answer("200", "already filed under this portal id: the same request"),
                "401": ERRORS["401"],
                "409": ERRORS["409"],
                "422": ERRORS["422"],
            },
        }
    },
}
