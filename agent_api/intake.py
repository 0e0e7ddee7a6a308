"""Requests agents enter by hand: a paper telegram or a walk-in, with the scanned document;
and the requester of a fax, transcribed from its document."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage

from agent_api import parsing
from agent_api.errors import ApiError
from agent_api.openapi_parts import (
    JSON,
    MOBILE,
    NATIONAL_ID,
    action,
    answer,
    enum_of,
    operation,
    ref,
    request_body,
)
from agent_api.schemas import dump_request
from agent_api.services import console, db, services, user
from tawasul.casework import actor_of, load_request
from tawasul.documents import DocumentStore, attach
from tawasul.duplicates import open_duplicates
from tawasul.errors import Forbidden, ValidationError
from tawasul.ids import normalize_saudi_mobile, validate_national_id
from tawasul.intake import IntakeService, NewRequest, call_to_link, link_call
from tawasul.models import (
    AttachmentKind,
    Call,
    Channel,
    Language,
    MeetingMode,
    Request,
    RequesterCategory,
)
from tawasul.permissions import Action, require, visible_branches
from tawasul.pii import PiiProtector
from tawasul.vault import vault_for

bp = Blueprint("intake", __name__)

AGENT_CHANNELS = (Channel.TELEGRAM, Channel.MANUAL, Channel.PHONE)
"""The channels an agent enters a request for: a paper telegram, a walk-in, or a caller the
agent is speaking with (the screen-pop's form; fax and portal file their own)."""
FIELDS = {
    "channel",
    "national_id",
    "mobile",
    "language",
    "branch",
    "category",
    "meeting_mode",
    "target_official",
    "screen_pop_id",
    "call_id",
}
FORM_OVERHEAD = 64 * 1024
"""Room for the form's other fields and multipart boundaries on top of the document."""


def _intake() -> IntakeService:
    found = current_app.extensions.get("tawasul.intake")
    if found is None:
        master = services().settings.resolved_secret_key()
        found = current_app.extensions["tawasul.intake"] = IntakeService(
            PiiProtector.from_master_key(master)
        )
    return found  # type: ignore[no-any-return]


def _store() -> DocumentStore:
    settings = services().settings
    return DocumentStore(settings.var_dir, vault_for(settings), settings.document_max_bytes)


def _fields() -> tuple[dict[str, Any], FileStorage | None]:
    """The submitted fields and document: multipart/form-data, or JSON without a document."""
    if request.mimetype == "multipart/form-data":
        names = (set(request.form) - FIELDS) | (set(request.files) - {"document"})
        # A part without a name (a broken client) is named None by the parser: still refused.
        extra = sorted(str(name) for name in names)
        if extra:
            raise ApiError(
                422,
                "unknown-field",
                f"these fields cannot be set here: {', '.join(extra)}",
                {"fields": extra},
            )
        return {name: request.form[name] for name in request.form}, request.files.get("document")
    return parsing.body(FIELDS), None


def _call(data: dict[str, Any], channel: Channel) -> Call | None:
    """The call a phone request came in on: the screen-pop's (``screen_pop_id``) or ``call_id``.

    Raises:
        ValidationError: naming ``screen_pop_id`` for a phone request without its call (or an
            unknown or expired pop), ``call_id`` for an unknown call, ``channel`` for a call
            given with another channel.
    """
    pop_id = parsing.text(data, "screen_pop_id", max_len=64)
    call_id = parsing.integer(data, "call_id")
    if channel != Channel.PHONE:
        if pop_id is not None or call_id is not None:
            raise ValidationError("channel", "a request linked to a call is filed as phone")
        return None
    if call_id is not None:
        return call_to_link(db(), call_id, (), "call_id")
    if not pop_id:
        raise ValidationError("screen_pop_id", "a phone request is filed from its screen-pop")
    pop = console().hub.screen_pop(pop_id, user().id)
    if pop is None:
        raise ValidationError("screen_pop_id", "no such screen-pop of yours (or it expired)")
    return call_to_link(db(), None, (pop.uniqueid, pop.linkedid), "screen_pop_id")


def _mobile(data: dict[str, Any], name: str) -> str | None:
    value = parsing.text(data, name, max_len=64)
    if not value:
        return None
    return normalize_saudi_mobile(value, name)


@bp.post("/requests")
def create_request() -> ResponseReturnValue:
    """File a request from a paper telegram or a walk-in, with its scanned document."""
    require(user(), Action.WORK_REQUEST)
    # A scanned document is bigger than the API's usual body limit: this route alone allows it.
    request.max_content_length = _store().max_bytes + FORM_OVERHEAD
    data, document = _fields()
    channel = parsing.choice(data, "channel", Channel, required=True)
    if channel not in AGENT_CHANNELS:
        raise ValidationError("channel", "one of telegram, manual, phone")
    call = _call(data, channel)
    national_id = parsing.text(data, "national_id", required=True, max_len=64) or ""
    mobile = _mobile(data, "mobile")
    # The requester's language (the SMS they read), not the agent's: a caller's is the one
    # they chose in the phone menu unless the agent says otherwise.
    language = (
        parsing.choice(data, "language", Language)
        or (call.language if call is not None else None)
        or Language.AR
    )
    branch = parsing.text(data, "branch", max_len=32) or user().branch
    if branch not in services().settings.branches:
        raise ValidationError("branch", "not a branch of this centre")
    visible = visible_branches(user())
    if visible is not None and branch not in visible:
        raise Forbidden("requests are entered for one's own branch", reason="other_branch")
    category = parsing.choice(data, "category", RequesterCategory)
    meeting_mode = parsing.choice(data, "meeting_mode", MeetingMode)
    target_official = parsing.text(data, "target_official", max_len=64)
    if target_official is not None:
        target_official = target_official.strip()
        if not target_official:
            raise ValidationError("target_official", "1-64 characters")
    if channel == Channel.TELEGRAM and document is None:
        raise ValidationError("document", "a telegram is filed with its scan")
    content = document.read(_store().max_bytes + 1) if document is not None else None
    if content is not None and len(content) > _store().max_bytes:
        raise ValidationError("document", f"at most {_store().max_bytes} bytes")
    new = NewRequest(
        national_id=national_id,
        language=language,
        branch=branch,
        channel=channel,
        callback_number=mobile,
        category=category,
        details={
            "document": content is not None,
            **({"call": call.uniqueid} if call is not None else {}),
        },
    )
    # Checked before the file is written, so a refused request leaves nothing on disk.
    new = replace(new, national_id=validate_national_id(national_id))
    stored = _store().save(channel.value, content) if content is not None else None

    def with_details(filed: Request) -> None:
        filed.meeting_mode = meeting_mode
        filed.target_official = target_official
        if call is not None:
            link_call(call, filed)
        if stored is not None:
            attach(
                db(),
                filed,
                AttachmentKind.SCANNED_DOCUMENT,
                stored.relative_path,
                stored.content_type,
            )

    try:
        filed = _intake().file_request(db(), new, actor=actor_of(user()), on_filed=with_details)
    except Exception:
        if stored is not None:
            _store().discard(stored.relative_path)
        raise
    return jsonify(_dump(filed)), 201


@bp.post("/requests/<int:request_id>/requester")
def transcribe_requester(request_id: int) -> ResponseReturnValue:
    """Give a fax's request the requester an agent read from the document."""
    require(user(), Action.WORK_REQUEST)
    data = parsing.body({"national_id", "mobile"})
    national_id = parsing.text(data, "national_id", required=True, max_len=64) or ""
    mobile = _mobile(data, "mobile")
    found = load_request(db(), user(), request_id)
    identified = _intake().identify(db(), found, national_id, mobile, actor_of(user()))
    return jsonify(_dump(identified))


def _dump(found: Request) -> dict[str, Any]:
    casework = services().casework
    return dump_request(
        found,
        casework.assignee(db(), found.id),
        casework.appointment(db(), found.id),
        services().book,
        open_duplicates(db(), [found])[found.id],
        visible_branches(user()),
    )


_MANUAL_ENTRY = {
    "type": "object",
    "required": ["channel", "national_id"],
    "properties": {
        "channel": {
            "type": "string",
            "enum": [channel.value for channel in AGENT_CHANNELS],
            "description": "phone: a caller the agent speaks with; needs screen_pop_id or call_id",
        },
        "national_id": NATIONAL_ID,
        "mobile": MOBILE,
        "language": {
            **enum_of(Language),
            "description": "the requester's (their SMS); default: the call's, else ar",
        },
        "branch": {"type": "string"},
        "category": enum_of(RequesterCategory),
        "meeting_mode": enum_of(MeetingMode),
        "target_official": {"type": "string", "minLength": 1, "maxLength": 64},
        "screen_pop_id": {
            "type": "string",
            "maxLength": 64,
            "description": "the screen-pop the form was opened from: links its call (phone)",
        },
        "call_id": {
            "type": "integer",
            "minimum": 1,
            "description": "the call to link (phone), as the screen-pop gives it",
        },
        "document": {
            "type": "string",
            "format": "binary",
            "description": "PDF, JPEG, PNG or TIFF; required for a telegram",
        },
    },
}
OPENAPI_PATHS: dict[str, Any] = {
    "/requests": {
        "post": operation(
            "Enter a request: a paper telegram or a walk-in (with its scan), or a caller from"
            " the screen-pop (channel phone, the call linked)",
            {**answer("201", "the request", ref("Request")), "413": {"description": "too big"}},
            body={
                "required": True,
                "content": {
                    "multipart/form-data": {"schema": _MANUAL_ENTRY},
                    JSON: {"schema": {**_MANUAL_ENTRY, "additionalProperties": False}},
                },
            },
        ),
    },
    "/requests/{request_id}/requester": action(
        "Give a fax's request the requester transcribed from its document",
        request_body(
            {
                "national_id": NATIONAL_ID,
                "mobile": MOBILE,
            },
            ("national_id",),
        ),
    ),
}
