"""Documents that came with a request: attachments (voice messages, faxes, scans) and the
fax receptions that filed them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tawasul.models.base import Base, UTCDateTime, _enum, utcnow


class AttachmentKind(StrEnum):
    """What a stored file is."""

    VOICE_MESSAGE = "voice_message"
    FAX = "fax"
    SCANNED_DOCUMENT = "scanned_document"
    """A paper telegram or a walk-in's letter, scanned by the agent who entered it."""


class Attachment(Base):
    """A file that came with a request (a fax document, a voice message), streamed on demand."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(_enum(AttachmentKind))
    path: Mapped[str] = mapped_column(String(255))
    """Relative to the var directory, or absolute."""
    content_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FaxStatus(StrEnum):
    """How a received fax ended."""

    RECEIVED = "received"
    PARTIAL = "partial"
    """Some pages arrived before the transfer broke: kept, and the request marked partial."""
    FAILED = "failed"
    """No page arrived: the request is filed anyway, so that an agent calls the sender back."""


class FaxReception(Base):
    """One fax call: who sent it, how it ended (Asterisk's reason) and the request it filed."""

    __tablename__ = "fax_reception"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uniqueid: Mapped[str] = mapped_column(Text, unique=True)
    """Asterisk's ``UNIQUEID`` of the receiving channel: a fax is recorded once."""
    sender: Mapped[str | None] = mapped_column(Text)
    """The sending number (caller ID) as the network gave it."""
    remote_station_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[FaxStatus] = mapped_column(_enum(FaxStatus, 16))
    fax_status: Mapped[str | None] = mapped_column(String(32))
    """``FAXOPT(status)``: SUCCESS, FAILED..."""
    fax_error: Mapped[str | None] = mapped_column(String(64))
    """``FAXOPT(error)``, e.g. HANGUP or NO_ERROR."""
    fax_status_text: Mapped[str | None] = mapped_column(String(255))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    """Pages in the stored document."""
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
