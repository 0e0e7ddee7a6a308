"""``/requests``: lists, details and the workflow actions agents and supervisors take."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, jsonify, send_file
from flask.typing import ResponseReturnValue

from agent_api import parsing
from agent_api.schemas import (
    dump_attachment,
    dump_call,
    dump_event,
    dump_note,
    dump_request,
    dump_verification,
)
from agent_api.services import db, services, user
from tawasul import search
from tawasul.casework import RequestChanges
from tawasul.duplicates import open_duplicates
from tawasul.errors import TelephonyUnavailable
from tawasul.models import Channel, Language, MeetingMode, Request, RequesterCategory
from tawasul.permissions import visible_branches
from tawasul.workflow import RequestStatus

bp = Blueprint("requests", __name__, url_prefix="/requests")

FILTERS = (
    "status",
    "branch",
    "channel",
    "category",
    "created_from",
    "created_to",
    "reference_number",
    "phone_last",
    "mine",
)


def _dump(request: Request) -> dict[str, Any]:
    return _dump_page([request])[0]


def _dump_page(requests: list[Request]) -> list[dict[str, Any]]:
    """Dump a page of requests with a fixed number of queries, not a few per request."""
    casework = services().casework
    ids = [request.id for request in requests]
    duplicates = open_duplicates(db(), requests)
    assignees = casework.assignees(db(), ids)
    appointments = casework.appointments(db(), ids)
    visible = visible_branches(user())
    return [
        dump_request(
            request,
            assignees.get(request.id),
            appointments.get(request.id),
            services().book,
            duplicates[request.id],
            visible,
        )
        for request in requests
    ]


def _filter(args: dict[str, str]) -> search.RequestFilter:
    statuses: list[RequestStatus] = []
    for value in (args.get("status") or "").split(","):
        if value:
            found = parsing.choice({"status": value}, "status", RequestStatus)
            if found is not None:
                statuses.append(found)
    return search.RequestFilter(
        statuses=tuple(statuses),
        branch=parsing.text(args, "branch", max_len=32),
        channel=parsing.choice(args, "channel", Channel),
        category=parsing.choice(args, "category", RequesterCategory),
        created_from=parsing.day(args, "created_from"),
        created_to=parsing.day(args, "created_to"),
        reference_number=parsing.text(args, "reference_number", max_len=10),
        phone_tail=parsing.text(args, "phone_last", max_len=4),
        assigned_to=user().id if parsing.boolean(args, "mine") else None,
    )


@bp.get("")
def list_requests() -> ResponseReturnValue:
    """The requests the user may see, filtered, one page at a time (keyset)."""
    args = parsing.query({*FILTERS, "limit", "cursor", "sort"})
    order = parsing.choice(args, "sort", search.SortOrder) or search.SortOrder.NEWEST
    page = search.search(
        db(),
        visible_branches(user()),
        _filter(args),
        limit=parsing.integer(args, "limit", low=1, high=search.MAX_PAGE) or 50,
        cursor=parsing.text(args, "cursor", max_len=256),
        order=order,
    )
    return jsonify({"items": _dump_page(page.items), "next_cursor": page.next_cursor})


@bp.get("/counts")
def counts() -> ResponseReturnValue:
    """How many of the requests the user may see are in each status."""
    args = parsing.query(FILTERS)
    return jsonify({"counts": search.counts(db(), visible_branches(user()), _filter(args))})


@bp.get("/<int:request_id>")
def get_request(request_id: int) -> ResponseReturnValue:
    """One request."""
    return jsonify(_dump(services().casework.get(db(), user(), request_id)))


@bp.patch("/<int:request_id>")
def update_request(request_id: int) -> ResponseReturnValue:
    """Edit a request's details; status, branch and reference number are refused (422)."""
    data = parsing.body({"target_official", "meeting_mode", "language", "category"})
    changes = RequestChanges(
        target_official=parsing.text(data, "target_official", max_len=64),
        meeting_mode=parsing.choice(data, "meeting_mode", MeetingMode),
        language=parsing.choice(data, "language", Language),
        category=parsing.choice(data, "category", RequesterCategory),
    )
    return jsonify(_dump(services().casework.update(db(), user(), request_id, changes)))


@bp.post("/<int:request_id>/claim")
def claim(request_id: int) -> ResponseReturnValue:
    """Take a received request into review, with its category."""
    data = parsing.body({"category"})
    category = parsing.choice(data, "category", RequesterCategory, required=True)
    assert category is not None  # required=True
    return jsonify(_dump(services().casework.claim(db(), user(), request_id, category)))


@bp.post("/<int:request_id>/release")
def release(request_id: int) -> ResponseReturnValue:
    """Hand a request in review back to the queue."""
    parsing.body(())
    return jsonify(_dump(services().casework.release(db(), user(), request_id)))


@bp.post("/<int:request_id>/verification")
def start_verification(request_id: int) -> ResponseReturnValue:
    """Start an identity check (e.g. text the requester a one-time code)."""
    parsing.body(())
    started = services().casework.start_verification(db(), user(), request_id)
    return jsonify(dump_verification(started)), 201


@bp.post("/<int:request_id>/verification/check")
def check_verification(request_id: int) -> ResponseReturnValue:
    """Check the requester's answer; on success the request is identity-verified."""
    data = parsing.body({"code"})
    code = parsing.text(data, "code", max_len=32) or ""
    return jsonify(_dump(services().casework.verify_identity(db(), user(), request_id, code)))


@bp.post("/<int:request_id>/approve")
def approve(request_id: int) -> ResponseReturnValue:
    """Approve a verified request (supervisors)."""
    parsing.body(())
    return jsonify(_dump(services().casework.approve(db(), user(), request_id)))


@bp.post("/<int:request_id>/reject")
def reject(request_id: int) -> ResponseReturnValue:
    """Reject a verified request with a reason (supervisors)."""
    data = parsing.body({"reason"})
    reason = parsing.text(data, "reason", required=True, max_len=500) or ""
    return jsonify(_dump(services().casework.reject(db(), user(), request_id, reason)))


@bp.post("/<int:request_id>/reject/preview")
def reject_preview(request_id: int) -> ResponseReturnValue:
    """The rejection SMS this reason would send, with its SMS part count (nothing changes)."""
    data = parsing.body({"reason"})
    reason = parsing.text(data, "reason", max_len=500) or ""
    preview = services().casework.rejection_sms(db(), user(), request_id, reason)
    return jsonify(
        {
            "language": preview.language.value,
            "body": preview.body,
            "encoding": preview.length.encoding.value,
            "units": preview.length.units,
            "parts": preview.length.parts,
            "budget": preview.budget,
        }
    )


@bp.post("/<int:request_id>/schedule")
def schedule(request_id: int) -> ResponseReturnValue:
    """Book (or move) the meeting into a slot of the request's branch."""
    data = parsing.body({"slot_id"})
    slot_id = parsing.integer(data, "slot_id", required=True) or 0
    services().casework.schedule(db(), user(), request_id, slot_id)
    return jsonify(_dump(services().casework.get(db(), user(), request_id)))


@bp.post("/<int:request_id>/complete")
def complete(request_id: int) -> ResponseReturnValue:
    """Close a scheduled request as held."""
    parsing.body(())
    return jsonify(_dump(services().casework.complete(db(), user(), request_id)))


@bp.post("/<int:request_id>/no-show")
def no_show(request_id: int) -> ResponseReturnValue:
    """Close a scheduled request whose requester did not come."""
    parsing.body(())
    return jsonify(_dump(services().casework.no_show(db(), user(), request_id)))


@bp.post("/<int:request_id>/cancel")
def cancel(request_id: int) -> ResponseReturnValue:
    """Cancel an open request."""
    data = parsing.body({"reason"})
    reason = parsing.text(data, "reason", max_len=500) or ""
    return jsonify(_dump(services().casework.cancel(db(), user(), request_id, reason)))


@bp.post("/<int:request_id>/assignment")
def reassign(request_id: int) -> ResponseReturnValue:
    """Give the request to another member of its branch (supervisors)."""
    data = parsing.body({"user_id"})
    to_user = parsing.integer(data, "user_id", required=True) or 0
    return jsonify(_dump(services().casework.reassign(db(), user(), request_id, to_user)))


@bp.get("/<int:request_id>/notes")
def notes(request_id: int) -> ResponseReturnValue:
    """The request's follow-up notes."""
    found = services().casework.notes(db(), user(), request_id)
    return jsonify({"items": [dump_note(note) for note in found]})


@bp.post("/<int:request_id>/notes")
def add_note(request_id: int) -> ResponseReturnValue:
    """Add a follow-up note (any status)."""
    data = parsing.body({"text"})
    text = parsing.text(data, "text", required=True, max_len=4000) or ""
    return jsonify(dump_note(services().casework.add_note(db(), user(), request_id, text))), 201


@bp.get("/<int:request_id>/events")
def events(request_id: int) -> ResponseReturnValue:
    """The request's audit trail."""
    found = services().casework.events(db(), user(), request_id)
    return jsonify({"items": [dump_event(event) for event in found]})


@bp.post("/<int:request_id>/call")
def call(request_id: int) -> ResponseReturnValue:
    """Ring the agent's softphone, then the requester's stored number."""
    data = parsing.body({"extension"})
    extension = parsing.text(data, "extension", max_len=64)
    click_to_call = services().click_to_call
    if click_to_call is None:
        raise TelephonyUnavailable("click-to-call is not configured on this server")
    placed = click_to_call.call(db(), user(), request_id, extension)
    return jsonify(dump_call(placed)), 201


@bp.get("/<int:request_id>/voice-message")
def voice_message(request_id: int) -> ResponseReturnValue:
    """Stream the request's voice message (the listening is audited)."""
    found = services().attachments.voice_message(db(), user(), request_id)
    return _stream(found.data, found.content_type, found.download_name)


@bp.get("/<int:request_id>/attachments")
def attachments(request_id: int) -> ResponseReturnValue:
    """The request's files (fax documents...)."""
    found = services().attachments.list(db(), user(), request_id)
    return jsonify({"items": [dump_attachment(item) for item in found]})


@bp.get("/<int:request_id>/attachments/<int:attachment_id>")
def attachment(request_id: int, attachment_id: int) -> ResponseReturnValue:
    """Stream one of the request's files (the opening is audited)."""
    found = services().attachments.attachment(db(), user(), request_id, attachment_id)
    return _stream(found.data, found.content_type, found.download_name)


def _stream(data: bytes, content_type: str, name: str) -> ResponseReturnValue:
    response = send_file(
        io.BytesIO(data), mimetype=content_type, download_name=name, conditional=True
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
