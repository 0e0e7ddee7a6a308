"""``/requests``: lists, details and the workflow actions agents and supervisors take."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, send_file
from flask.typing import ResponseReturnValue

from agent_api import parsing
from agent_api.openapi_parts import (
    ITEMS,
    NO_BODY,
    REQUEST,
    REQUEST_ID,
    action,
    answer,
    enum_of,
    operation,
    path_id,
    query_param,
    ref,
    request_body,
)
from agent_api.schemas import (
    dump_attachment,
    dump_call,
    dump_event,
    dump_identity,
    dump_note,
    dump_request,
    dump_sms,
    dump_verification,
)
from agent_api.services import console, db, services, user
from tawasul import search
from tawasul.casework import RequestChanges
from tawasul.duplicates import open_duplicates
from tawasul.errors import TelephonyUnavailable, ValidationError
from tawasul.history import Person, WordedEntry, in_words
from tawasul.identity import IdentityDocument
from tawasul.models import Channel, Language, MeetingMode, Request, RequesterCategory, utcnow
from tawasul.permissions import actions_now, visible_branches
from tawasul.pii import PiiProtector
from tawasul.sms import owed_sms
from tawasul.workflow import RequestStatus
from tawasul.worklist import (
    OLDEST_FIRST,
    VIEW_STATUSES,
    DuePolicy,
    WorkView,
    age_s,
    check_view,
)

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


def _dump_page(
    requests: list[Request], states: Mapping[int, search.CaseState] | None = None
) -> list[dict[str, Any]]:
    """Dump a page of requests with a fixed number of queries, not a few per request.

    Each row is what the request's own page shows, with what the user may do now
    (``allowed_actions``, the rule the actions enforce), its SMS and how identity was verified.
    Who works each request is read with it (``Request.assigned_to``); its appointment and
    identity checks too when the page's query brought them (``states``: a list page), else
    they are read here.
    """
    casework = services().casework
    me = user()
    ids = [request.id for request in requests]
    duplicates = open_duplicates(db(), requests)
    if states is None:
        appointments = casework.appointments(db(), ids)
        started, identities = casework.identity_states(db(), ids)
    else:
        appointments, identities, started = {}, {}, set()
        for request_id, state in states.items():
            if state.appointment is not None:
                appointments[request_id] = state.appointment
            if state.verified_check is not None:
                identities[request_id] = state.verified_check
            if state.check_started:
                started.add(request_id)
    holders = {request.id: request.assigned_to for request in requests}
    situations = casework.situations(
        db(), requests, appointments=appointments, code_sent=started, holders=holders
    )
    sms = owed_sms(db(), ids)
    visible = visible_branches(me)
    book = services().book
    dumped = []
    for request in requests:
        item = dump_request(
            request, None, appointments.get(request.id), book, duplicates[request.id], visible
        )
        allowed, override = actions_now(me, situations[request.id])
        item["allowed_actions"] = [action.value for action in allowed]
        item["override_actions"] = [action.value for action in override]
        item["sms"] = [dump_sms(entry) for entry in sms[request.id]]
        item["identity"] = dump_identity(identities.get(request.id))
        dumped.append(item)
    return dumped


def _pii() -> PiiProtector:
    found = current_app.extensions.get("tawasul.search_pii")
    if found is None:
        master = services().settings.resolved_secret_key()
        found = current_app.extensions["tawasul.search_pii"] = PiiProtector.from_master_key(master)
    return found  # type: ignore[no-any-return]


def _filter(args: Mapping[str, Any]) -> search.RequestFilter:
    statuses: list[RequestStatus] = []
    for value in (parsing.text(args, "status", max_len=256) or "").split(","):
        if value:
            found = parsing.choice({"status": value}, "status", RequestStatus)
            if found is not None:
                statuses.append(found)
    # Room for what is pasted around a number (spaces, direction marks); the core normalises.
    number = parsing.text(args, "number", max_len=64)
    return search.RequestFilter(
        statuses=tuple(statuses),
        branch=parsing.text(args, "branch", max_len=32),
        channel=parsing.choice(args, "channel", Channel),
        category=parsing.choice(args, "category", RequesterCategory),
        created_from=parsing.day(args, "created_from"),
        created_to=parsing.day(args, "created_to"),
        zone=ZoneInfo(services().settings.timezone),
        reference_number=parsing.text(args, "reference_number", max_len=64),
        phone_tail=parsing.text(args, "phone_last", max_len=32),
        assigned_to=user().id if parsing.boolean(args, "mine") else None,
        **(search.whole_number(_pii(), number) if number else {}),
    )


@bp.get("")
def list_requests() -> ResponseReturnValue:
    """The requests the user may see, filtered, one page at a time (keyset); ``view`` asks one
    of the work views (new work, awaiting my decision, mine), each row with its age and due."""
    args = parsing.query({*FILTERS, "limit", "cursor", "sort", "view"})
    flt, view = _viewed(args, _filter(args))
    view_order = search.SortOrder.OLDEST if view in OLDEST_FIRST else search.SortOrder.NEWEST
    order = parsing.choice(args, "sort", search.SortOrder) or view_order
    page = search.search(
        db(),
        visible_branches(user()),
        flt,
        limit=parsing.integer(args, "limit", low=1, high=search.MAX_PAGE) or 50,
        cursor=parsing.text(args, "cursor", max_len=256),
        order=order,
        case_state=True,
    )
    items = _dump_page(page.items, page.case_states)
    return jsonify(
        {
            "items": _with_due(page.items, items) if view is not None else items,
            "next_cursor": page.next_cursor,
        }
    )


def _viewed(
    args: Mapping[str, Any], flt: search.RequestFilter
) -> tuple[search.RequestFilter, WorkView | None]:
    """The filter of the ``view`` asked for (none: the plain list, as filtered)."""
    view = parsing.choice(args, "view", WorkView)
    if view is None:
        return flt, None
    me = user()
    check_view(me, view)
    statuses = VIEW_STATUSES[view]
    if statuses and flt.statuses:
        raise ValidationError("status", f"the {view.value} view chooses the statuses itself")
    flt = replace(flt, statuses=statuses or flt.statuses)
    if view == WorkView.MINE:
        flt = replace(flt, assigned_to=me.id)
    return flt, view


def _with_due(requests: list[Request], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its age in seconds and when it falls due (``tawasul.worklist``)."""
    policy = DuePolicy.from_settings(services().settings)
    now = utcnow()
    for request, row in zip(requests, rows, strict=True):
        due = policy.due(request, now)
        row["age_s"] = age_s(request, now)
        row["due"] = (
            {"kind": due.kind.value, "at": due.at.isoformat(), "state": due.state.value}
            if due is not None
            else None
        )
    return rows


@bp.post("/search")
def search_requests() -> ResponseReturnValue:
    """Like ``GET /requests``, in a body, with ``number``: a whole mobile or national ID (which
    must not travel in a URL, where proxies and access logs keep it)."""
    data = parsing.body({*FILTERS, "number", "limit", "cursor", "sort"})
    order = parsing.choice(data, "sort", search.SortOrder) or search.SortOrder.NEWEST
    flt = _filter(data)
    page = search.search(
        db(),
        visible_branches(user()),
        flt,
        limit=parsing.integer(data, "limit", low=1, high=search.MAX_PAGE) or 50,
        cursor=parsing.text(data, "cursor", max_len=256),
        order=order,
        case_state=True,
    )
    return jsonify(
        {
            "items": _dump_page(page.items, page.case_states),
            "next_cursor": page.next_cursor,
            # Per status, the status filter aside: what the console's count buttons show.
            "counts": search.counts(db(), visible_branches(user()), replace(flt, statuses=())),
        }
    )


@bp.get("/counts")
def counts() -> ResponseReturnValue:
    """How many of the requests the user may see are in each status (of a view, if given)."""
    args = parsing.query({*FILTERS, "view"})
    flt, _ = _viewed(args, _filter(args))
    return jsonify({"counts": search.counts(db(), visible_branches(user()), flt)})


@bp.get("/<int:request_id>")
def get_request(request_id: int) -> ResponseReturnValue:
    """One request, with its age in seconds and when it falls due, as in the lists."""
    found = services().casework.get(db(), user(), request_id)
    return jsonify(_with_due([found], [_dump(found)])[0])


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


@bp.post("/<int:request_id>/verify-in-person")
def verify_in_person(request_id: int) -> ResponseReturnValue:
    """Mark identity verified by an agent who saw the requester's document."""
    data = parsing.body({"document"})
    document = parsing.choice(data, "document", IdentityDocument, required=True)
    assert document is not None  # required=True
    found = services().casework.verify_in_person(db(), user(), request_id, document)
    return jsonify(_dump(found))


@bp.post("/<int:request_id>/approve")
def approve(request_id: int) -> ResponseReturnValue:
    """Approve a verified request (supervisors)."""
    parsing.body(())
    return jsonify(_dump(services().casework.approve(db(), user(), request_id)))


@bp.post("/<int:request_id>/reject")
def reject(request_id: int) -> ResponseReturnValue:
    """Reject a request in review or verified, with a reason (supervisors)."""
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


def _override_reason() -> str | None:
    """A supervisor's reason to close before the appointment's start (None: none sent)."""
    data = parsing.body({"override_reason"})
    if "override_reason" not in data:
        return None
    reason = parsing.text(data, "override_reason", max_len=500)
    return reason if reason is not None else ""


@bp.post("/<int:request_id>/complete")
def complete(request_id: int) -> ResponseReturnValue:
    """Close a scheduled request as held (before its start: supervisors, with a reason)."""
    reason = _override_reason()
    return jsonify(_dump(services().casework.complete(db(), user(), request_id, reason)))


@bp.post("/<int:request_id>/no-show")
def no_show(request_id: int) -> ResponseReturnValue:
    """Close a scheduled request whose requester did not come (before its start: as above)."""
    reason = _override_reason()
    return jsonify(_dump(services().casework.no_show(db(), user(), request_id, reason)))


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


@bp.get("/<int:request_id>/history")
def history(request_id: int) -> ResponseReturnValue:
    """The request's history in words: newest first, actors by name and role, notes with their
    author (``tawasul.history``)."""
    parsing.query(())
    me = user()
    entries = console().casefile.history(db(), me, request_id)
    notes = services().casework.notes(db(), me, request_id)
    return jsonify({"items": [_dump_worded(item) for item in in_words(db(), entries, notes)]})


def _dump_person(person: Person | None) -> dict[str, Any] | None:
    return None if person is None else {"id": person.id, "name": person.name, "role": person.role}


def _dump_worded(entry: WordedEntry) -> dict[str, Any]:
    actor: dict[str, Any] | None = None
    if entry.actor is not None:
        actor = (
            _dump_person(entry.actor.person)
            if entry.actor.person is not None
            else {"system": entry.actor.system}
        )
    return {
        "at": entry.at.isoformat(),
        "source": entry.source,
        "kind": entry.kind,
        "actor": actor,
        "status": entry.status,
        "details": entry.details,
        "people": {key: _dump_person(person) for key, person in entry.people.items()},
        "note": (
            None
            if entry.note is None
            else {
                "id": entry.note.id,
                "text": entry.note.text,
                "author": _dump_person(entry.note.author),
            }
        ),
    }


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


FILTER_PARAMS = [
    query_param("status", {"type": "string"}, "comma-separated statuses"),
    query_param("branch", {"type": "string"}),
    query_param("channel", enum_of(Channel)),
    query_param("category", enum_of(RequesterCategory)),
    query_param("created_from", {"type": "string", "format": "date"}),
    query_param("created_to", {"type": "string", "format": "date"}),
    query_param("reference_number", {"type": "string"}),
    query_param(
        "phone_last", {"type": "string", "maxLength": 32}, "last 3 or 4 digits, any script"
    ),
    query_param("mine", {"type": "boolean"}, "only the requests the user works now"),
]
OPENAPI_PATHS: dict[str, Any] = {
    "/requests": {
        "get": operation(
            "Requests the user may see: filters, keyset pages, sort",
            answer("200", "one page; next_cursor is null at the end", ITEMS),
            params=[
                *FILTER_PARAMS,
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                query_param("cursor", {"type": "string"}),
                query_param("sort", {"type": "string", "enum": ["-created_at", "created_at"]}),
                query_param(
                    "view",
                    enum_of(WorkView),
                    "new_work: received in the branch, oldest first; awaiting_decision "
                    "(supervisors): identity_verified, oldest first; mine; all. With a view, "
                    "every row has age_s and due {kind: forwarding_cutoff|service_target, at, "
                    "state: ok|near|overdue} (null once closed); 403 forbidden for a view the role "
                    "has no use for; 422 naming status when a view and status are both given",
                ),
            ],
        ),
    },
    "/requests/search": {
        "post": operation(
            "Like GET /requests, in a body; number: a whole mobile or national ID",
            answer("200", "one page, and the counts per status (status filter aside)"),
            body=request_body(
                {
                    **{p["name"]: p["schema"] for p in FILTER_PARAMS},
                    "number": {"type": "string", "maxLength": 64},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200},
                    "cursor": {"type": "string"},
                    "sort": {"type": "string", "enum": ["-created_at", "created_at"]},
                }
            ),
        )
    },
    "/requests/counts": {
        "get": operation(
            "Counts per status (of a work view, if given)",
            answer("200", "counts"),
            params=[*FILTER_PARAMS, query_param("view", enum_of(WorkView))],
        )
    },
    "/requests/{request_id}": {
        "get": operation(
            "One request, with age_s and due (as in the lists)", REQUEST, params=[REQUEST_ID]
        ),
        "patch": operation(
            "Edit details (status, branch, reference number: 422)",
            REQUEST,
            params=[REQUEST_ID],
            body=request_body(
                {
                    "target_official": {"type": "string", "maxLength": 64},
                    "meeting_mode": enum_of(MeetingMode),
                    "language": enum_of(Language),
                    "category": enum_of(RequesterCategory),
                }
            ),
        ),
    },
    "/requests/{request_id}/claim": action(
        "received -> in_review, classified",
        request_body({"category": enum_of(RequesterCategory)}, ("category",)),
    ),
    "/requests/{request_id}/release": action("in_review -> received"),
    "/requests/{request_id}/verification": {
        "post": operation(
            "Start an identity check (one-time code by SMS, or e-services)",
            answer("201", "the check", ref("Verification")),
            body=NO_BODY,
            params=[REQUEST_ID],
        )
    },
    "/requests/{request_id}/verification/check": action(
        "Check the answer: in_review -> identity_verified",
        request_body({"code": {"type": "string", "maxLength": 32}}),
    ),
    "/requests/{request_id}/verify-in-person": action(
        "in_review -> identity_verified by a document seen (audited: who, when, which kind)",
        request_body({"document": enum_of(IdentityDocument)}, ("document",)),
    ),
    "/requests/{request_id}/approve": action("identity_verified -> approved (supervisors)"),
    "/requests/{request_id}/reject": action(
        "in_review|identity_verified -> rejected, with a reason (supervisors; no verification"
        " needed)",
        request_body({"reason": {"type": "string", "maxLength": 500}}, ("reason",)),
    ),
    "/requests/{request_id}/reject/preview": {
        "post": operation(
            "The rejection SMS a reason would send, with its SMS part count",
            answer(
                "200",
                "the message, its encoding, length in units, parts and part budget",
                {
                    "type": "object",
                    "properties": {
                        "language": {"type": "string"},
                        "body": {"type": "string"},
                        "encoding": {"type": "string", "enum": ["gsm7", "ucs2"]},
                        "units": {"type": "integer"},
                        "parts": {"type": "integer"},
                        "budget": {"type": "integer"},
                    },
                },
            ),
            body=request_body({"reason": {"type": "string", "maxLength": 500}}),
            params=[REQUEST_ID],
        )
    },
    "/requests/{request_id}/schedule": action(
        "approved|scheduled -> scheduled in a slot",
        request_body({"slot_id": {"type": "integer"}}, ("slot_id",)),
    ),
    "/requests/{request_id}/complete": action(
        "scheduled -> completed; before the appointment's start 409 appointment_not_started,"
        " unless a supervisor gives override_reason (audited)",
        request_body({"override_reason": {"type": "string", "minLength": 1, "maxLength": 500}}),
    ),
    "/requests/{request_id}/no-show": action(
        "scheduled -> no_show; before the appointment's start as for complete",
        request_body({"override_reason": {"type": "string", "minLength": 1, "maxLength": 500}}),
    ),
    "/requests/{request_id}/cancel": action(
        "open -> cancelled", request_body({"reason": {"type": "string", "maxLength": 500}})
    ),
    "/requests/{request_id}/assignment": action(
        "Reassign (supervisors)", request_body({"user_id": {"type": "integer"}}, ("user_id",))
    ),
    "/requests/{request_id}/notes": {
        "get": operation("Follow-up notes", answer("200", "notes", ITEMS), params=[REQUEST_ID]),
        "post": operation(
            "Add a note",
            answer("201", "the note", ref("Note")),
            params=[REQUEST_ID],
            body=request_body({"text": {"type": "string", "maxLength": 4000}}, ("text",)),
        ),
    },
    "/requests/{request_id}/events": {
        "get": operation("The audit trail", answer("200", "events", ITEMS), params=[REQUEST_ID])
    },
    "/requests/{request_id}/history": {
        "get": operation(
            "The history in words, newest first: kind (a stable key: created, claimed, note, "
            "ivr_call, call_back, sms...), actor {id, name, role} or {system: ivr|worker|"
            "portal|fax|retention}, status, details, people {from_user, to_user: {id, name, "
            "role}}, note {id, text, author}",
            answer("200", "entries", ITEMS),
            params=[REQUEST_ID],
        )
    },
    "/requests/{request_id}/call": {
        "post": operation(
            "Click-to-call: ring the agent's softphone, then the stored number",
            {
                **answer("201", "the call", ref("Call")),
                "503": {"description": "telephony unavailable"},
            },
            params=[REQUEST_ID],
            body=request_body({"extension": {"type": "string", "pattern": "^[A-Za-z0-9/_@.-]+$"}}),
        )
    },
    "/requests/{request_id}/voice-message": {
        "get": operation(
            "Stream the voice message (audited)",
            {"200": {"description": "audio", "content": {"audio/wav": {}}}},
            params=[REQUEST_ID],
        )
    },
    "/requests/{request_id}/attachments": {
        "get": operation("The request's files", answer("200", "files", ITEMS), params=[REQUEST_ID])
    },
    "/requests/{request_id}/attachments/{attachment_id}": {
        "get": operation(
            "Stream one file (audited)",
            {"200": {"description": "the file"}},
            params=[REQUEST_ID, path_id("attachment_id")],
        )
    },
}
