"""Fax intake: every fax call files a request (channel "fax") with its document, or its failure.

A fax carries no typed national ID: the request is filed without a requester, the PDF attached
for an agent to transcribe (:meth:`tawasul.intake.IntakeService.identify`). A fax that broke
off is filed too, marked partial, with Asterisk's reason, so an agent can call the sender back;
nothing a citizen sent is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.documents import attach
from tawasul.intake import IntakeService, NewRequest
from tawasul.masking import mask_phone
from tawasul.models import (
    AttachmentKind,
    Call,
    Channel,
    FaxReception,
    FaxStatus,
    Language,
    Request,
)

log = logging.getLogger(__name__)

ASTERISK_SUCCESS = "SUCCESS"


@dataclass(frozen=True)
class ReceivedFax:
    """What Asterisk reported about one fax call, and the document made of it."""

    uniqueid: str
    sender: str | None
    fax_status: str
    """``FAXOPT(status)``; empty when the call ended before the fax session started."""
    fax_error: str
    status_text: str
    remote_station_id: str
    document_path: str | None
    """The PDF, relative to the var directory; None when no page could be read."""
    pages: int


def outcome(fax: ReceivedFax) -> FaxStatus:
    """RECEIVED only when Asterisk says SUCCESS and pages are there; PARTIAL with some pages."""
    if fax.pages == 0 or fax.document_path is None:
        return FaxStatus.FAILED
    if fax.fax_status == ASTERISK_SUCCESS:
        return FaxStatus.RECEIVED
    return FaxStatus.PARTIAL


def failure_reason(fax: ReceivedFax) -> str | None:
    """The reason of a fax that did not fully arrive, in Asterisk's words; None if it did."""
    if outcome(fax) == FaxStatus.RECEIVED:
        return None
    if not fax.fax_status:
        return "the call ended before the fax session started"
    parts = [fax.fax_status]
    if fax.fax_error:
        parts.append(fax.fax_error)
    if fax.status_text:
        parts.append(fax.status_text)
    return ": ".join(parts)


class FaxIntake:
    """Files the request of a fax call, with its document and its ``FaxReception`` record."""

    def __init__(self, intake: IntakeService) -> None:
        self._intake = intake

    def recorded(self, session: Session, uniqueid: str) -> FaxReception | None:
        """The reception already recorded for this channel, if any."""
        return session.scalar(select(FaxReception).where(FaxReception.uniqueid == uniqueid))

    def record(
        self,
        session: Session,
        fax: ReceivedFax,
        branch: str,
        callback_number: str | None,
        call: Call | None = None,
    ) -> FaxReception:
        """File the fax's request (status RECEIVED) and record how the fax ended.

        Args:
            session: the database session; committed on return.
            fax: what Asterisk reported and the stored PDF, if any.
            branch: the branch whose queue takes the request.
            callback_number: the sender's number in E.164 when it is a Saudi mobile (SMS).
            call: the ``Call`` row of the fax call, linked to the request.

        Returns:
            The committed ``FaxReception``; the one already recorded if the script ran twice.
        """
        existing = self.recorded(session, fax.uniqueid)
        if existing is not None:
            return existing
        status = outcome(fax)
        reason = failure_reason(fax)
        reception = FaxReception(
            uniqueid=fax.uniqueid,
            sender=fax.sender[:32] if fax.sender else None,
            remote_station_id=fax.remote_station_id[:32] or None,
            status=status,
            fax_status=fax.fax_status[:32] or None,
            fax_error=fax.fax_error[:64] or None,
            fax_status_text=fax.status_text[:255] or None,
            pages=fax.pages,
        )

        def with_document(request: Request) -> None:
            reception.request_id = request.id
            session.add(reception)
            if fax.document_path is not None:
                attach(session, request, AttachmentKind.FAX, fax.document_path, "application/pdf")

        request = self._intake.file_request(
            session,
            NewRequest(
                national_id="",
                language=Language.AR,
                branch=branch,
                channel=Channel.FAX,
                callback_number=callback_number,
                is_partial=status != FaxStatus.RECEIVED,
                transcribe_later=True,
                details={"fax": status.value, "pages": fax.pages, "reason": reason},
            ),
            call=call,
            actor="fax",
            on_filed=with_document,
        )
        if status == FaxStatus.RECEIVED:
            log.info(
                "fax %s from %s: %d page(s), request %s",
                fax.uniqueid,
                mask_phone(fax.sender),
                fax.pages,
                request.reference_number,
            )
        else:
            log.warning(
                "fax %s from %s %s (%s), %d page(s) kept, request %s",
                fax.uniqueid,
                mask_phone(fax.sender),
                status.value,
                reason,
                fax.pages,
                request.reference_number,
            )
        return reception
