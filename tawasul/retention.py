"""Retention: personal data is kept as long as configured, then deleted or anonymised.

What goes, per kind (``retention_*_days`` settings):
- recordings and documents: the files are deleted and the request loses its path;
- requests that ended (no longer open): the callback number, the link to the requester and the
  notes' text go; a requester left with no request loses the stored national ID;
- call records: the caller's number and the menu journey go;
- SMS: the body is replaced and the number masked.
The audit trail stays: who did what and when, which never held personal data, plus one
"purged" event per request saying what was removed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tawasul.audit import record_event
from tawasul.config import Settings
from tawasul.masking import mask_phone
from tawasul.models import (
    Attachment,
    Call,
    Request,
    Requester,
    RequestNote,
    SmsMessage,
)
from tawasul.workflow import OPEN_STATUSES

log = logging.getLogger(__name__)

PURGED = "[purged]"


@dataclass
class PurgeReport:
    """How many things each rule removed."""

    recordings: int = 0
    documents: int = 0
    requests: int = 0
    requesters: int = 0
    calls: int = 0
    sms: int = 0


def _delete_file(root: Path, relative: str) -> None:
    path = (root / relative).resolve()
    if root.resolve() in path.parents:
        path.unlink(missing_ok=True)


def _audit(session: Session, request_id: int, at: datetime, what: str) -> None:
    record_event(session, request_id, "purged", actor="retention", at=at, details={"what": what})


def purge(session: Session, settings: Settings, now: datetime) -> PurgeReport:
    """Apply every retention rule as of ``now`` and commit; safe to run again."""
    report = PurgeReport()
    files = settings.files_dir()
    recordings_before = now - timedelta(days=settings.retention_recordings_days)
    for request in session.scalars(
        select(Request)
        .where(Request.voice_message_path.is_not(None))
        .where(Request.created_at < recordings_before)
    ):
        _delete_file(files, request.voice_message_path or "")
        _delete_file(settings.var_dir, request.voice_message_path or "")
        request.voice_message_path = None
        _audit(session, request.id, now, "voice_message")
        report.recordings += 1

    requests_before = now - timedelta(days=settings.retention_requests_days)
    ended = session.scalars(
        select(Request)
        .where(Request.status.not_in(OPEN_STATUSES))
        .where(Request.updated_at < requests_before)
        .where(Request.requester_id.is_not(None) | Request.callback_number.is_not(None))
    ).all()
    orphans: set[int] = set()
    for request in ended:
        for attachment in session.scalars(
            select(Attachment).where(Attachment.request_id == request.id)
        ):
            _delete_file(files, attachment.path)
            _delete_file(settings.var_dir, attachment.path)
            session.delete(attachment)
            report.documents += 1
        for note in session.scalars(
            select(RequestNote).where(RequestNote.request_id == request.id)
        ):
            note.text = PURGED
        if request.requester_id is not None:
            orphans.add(request.requester_id)
        request.requester_id = None
        request.callback_number = None
        _audit(session, request.id, now, "requester")
        report.requests += 1
    session.flush()
    for requester_id in orphans:
        remaining = session.scalar(
            select(func.count(Request.id)).where(Request.requester_id == requester_id)
        )
        if not remaining:
            requester = session.get(Requester, requester_id)
            if requester is not None:
                session.delete(requester)
                report.requesters += 1

    calls_before = now - timedelta(days=settings.retention_calls_days)
    for call in session.scalars(
        select(Call).where(Call.started_at < calls_before).where(Call.caller_id.is_not(None))
    ):
        call.caller_id = None
        call.journey = []
        report.calls += 1

    sms_before = now - timedelta(days=settings.retention_sms_days)
    for message in session.scalars(
        select(SmsMessage)
        .where(SmsMessage.created_at < sms_before)
        .where(SmsMessage.body != PURGED)
    ):
        message.body = PURGED
        message.to_number = mask_phone(message.to_number)[:16]
        report.sms += 1
    session.commit()
    for directory in ("sms", "forwarded"):
        for path in (settings.var_dir / directory).glob("*.json"):
            if path.stat().st_mtime < sms_before.timestamp():
                path.unlink(missing_ok=True)
    if any(vars(report).values()):
        log.info("retention: %s", report)
    return report
