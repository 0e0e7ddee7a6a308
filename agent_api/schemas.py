"""How resources are dumped to JSON: personal data masked, dates in both calendars."""

from __future__ import annotations

from typing import Any

from agent_api.dates import centre_zone, moment
from tawasul.appointments import AppointmentBook
from tawasul.duplicates import OpenDuplicate
from tawasul.masking import mask_phone
from tawasul.models import (
    AgentCall,
    ApiToken,
    Appointment,
    AppointmentSlot,
    Attachment,
    IdentityVerification,
    Request,
    RequestAssignment,
    RequestEvent,
    RequestNote,
    User,
)
from tawasul.sms import OwedSms
from tawasul.workflow import allowed_transitions


def dump_user(user: User) -> dict[str, Any]:
    """A staff account, without its password hash."""
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role.value,
        "branch": user.branch,
        "extension": user.extension,
        "takes_calls": user.takes_calls,
        "is_active": user.is_active,
        "created_at": user.created_at.isoformat(),
    }


def dump_token(token: ApiToken) -> dict[str, Any]:
    """An API token's record (never the token)."""
    return {
        "id": token.id,
        "name": token.name,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked": token.revoked_at is not None,
    }


def dump_slot(slot: AppointmentSlot) -> dict[str, Any]:
    """A calendar slot with its free places."""
    return {
        "id": slot.id,
        "branch": slot.branch,
        "mode": slot.mode.value,
        "starts_at": moment(slot.starts_at),
        "ends_at": moment(slot.ends_at),
        "capacity": slot.capacity,
        "free": max(slot.capacity - slot.booked, 0),
    }


def dump_appointment(appointment: Appointment, book: AppointmentBook) -> dict[str, Any]:
    """A request's appointment: when, how, where (or the video link)."""
    zone = centre_zone()
    return {
        "id": appointment.id,
        "status": appointment.status.value,
        "mode": appointment.slot.mode.value,
        "slot_id": appointment.slot_id,
        "starts_at": moment(appointment.slot.starts_at, zone),
        "ends_at": moment(appointment.slot.ends_at, zone),
        "meeting_link": appointment.meeting_link,
        "place": book.place(appointment),
    }


def dump_request(
    request: Request,
    assignment: RequestAssignment | None = None,
    appointment: Appointment | None = None,
    book: AppointmentBook | None = None,
    duplicates: list[OpenDuplicate] | None = None,
    visible: frozenset[str] | None = None,
) -> dict[str, Any]:
    """A request as agents see it: the callback number masked, the next statuses listed.

    ``assignment`` is who works it, when the caller read it; without it, the request's own
    ``assigned_to`` (the same user, kept with it). ``duplicates`` are the requester's other
    open requests (any channel); those of branches outside ``visible`` (None: all) show only
    their channel, branch and status.
    """
    zone = centre_zone()
    return {
        "open_duplicates": [dump_duplicate(other, visible) for other in duplicates or []],
        "id": request.id,
        "reference_number": request.reference_number,
        "status": request.status.value,
        "allowed_transitions": allowed_transitions(request.status),
        "channel": request.channel.value,
        "branch": request.branch,
        "category": request.category.value if request.category else None,
        "meeting_mode": request.meeting_mode.value if request.meeting_mode else None,
        "target_official": request.target_official,
        "language": request.language.value,
        "is_partial": request.is_partial,
        "callback_number": mask_phone(request.callback_number) or None,
        "has_voice_message": bool(request.voice_message_path),
        "assigned_to": assignment.user_id if assignment else request.assigned_to,
        "appointment": (
            dump_appointment(appointment, book) if appointment and book is not None else None
        ),
        "created_at": moment(request.created_at, zone),
        "updated_at": moment(request.updated_at, zone),
    }


def dump_duplicate(request: OpenDuplicate, visible: frozenset[str] | None) -> dict[str, Any]:
    """Another open request of the same requester (its id only when the user may open it)."""
    shown = visible is None or request.branch in visible
    return {
        "id": request.id if shown else None,
        "reference_number": request.reference_number if shown else None,
        "channel": request.channel.value,
        "branch": request.branch,
        "status": request.status.value,
    }


def dump_event(event: RequestEvent) -> dict[str, Any]:
    """One audit event."""
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "kind": event.kind,
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value if event.to_status else None,
        "details": event.details,
    }


def dump_note(note: RequestNote) -> dict[str, Any]:
    """A follow-up note."""
    return {
        "id": note.id,
        "author_id": note.author_id,
        "text": note.text,
        "created_at": note.created_at.isoformat(),
    }


def dump_verification(verification: IdentityVerification) -> dict[str, Any]:
    """An identity check's state (never its secret)."""
    return {
        "id": verification.id,
        "provider": verification.provider,
        "status": verification.status.value,
        "expires_at": verification.expires_at.isoformat(),
        "attempts_left": max(verification.max_attempts - verification.attempts, 0),
    }


def dump_call(call: AgentCall) -> dict[str, Any]:
    """A click-to-call and how it went."""
    return {
        "id": call.id,
        "request_id": call.request_id,
        "agent_endpoint": call.agent_endpoint,
        "connected": call.connected,
        "result": call.result,
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
    }


def dump_attachment(attachment: Attachment) -> dict[str, Any]:
    """An attachment's record (the file itself is streamed by its own route)."""
    return {
        "id": attachment.id,
        "kind": attachment.kind.value,
        "content_type": attachment.content_type,
        "created_at": attachment.created_at.isoformat(),
    }


def dump_sms(sms: OwedSms) -> dict[str, Any]:
    """One SMS of a request: its stage, priority and delivery state (never its text)."""
    return {
        "id": sms.outbox_id,
        "stage": sms.stage,
        "priority": sms.priority.name.lower(),
        "status": sms.status,
        "due_at": sms.due_at.isoformat(),
        "held_until": sms.held_until.isoformat() if sms.held_until else None,
        "sent_at": sms.sent_at.isoformat() if sms.sent_at else None,
        "parts": sms.parts,
    }


def dump_identity(check: IdentityVerification | None) -> dict[str, Any] | None:
    """How the requester's identity was verified: method (the check's provider), by whom (the
    member of staff who started it; None for the portal) and when; None when it was not."""
    if check is None:
        return None
    return {
        "method": check.provider,
        "verified_by": check.started_by,
        "verified_at": check.verified_at.isoformat() if check.verified_at else None,
    }
