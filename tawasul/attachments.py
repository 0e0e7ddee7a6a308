"""Voice messages and fax documents: located for authorised users, every opening audited."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.audit import record_event
from tawasul.casework import actor_of, load_request
from tawasul.errors import NotFound
from tawasul.models import Attachment, AttachmentKind, User, utcnow
from tawasul.permissions import Action, require
from tawasul.vault import Vault, VaultError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredFile:
    """A file the caller may stream: where it is and what it is."""

    path: Path
    content_type: str
    download_name: str
    data: bytes
    """The content, decrypted (recordings and documents are encrypted at rest)."""


class AttachmentStore:
    """Finds a request's files under the var directory and records who opened them."""

    def __init__(self, var_dir: Path, vault: Vault, clock: Callable[[], datetime] = utcnow) -> None:
        self._var_dir = var_dir
        self._vault = vault
        self._clock = clock

    def list(self, session: Session, user: User, request_id: int) -> list[Attachment]:
        """The request's attachments (not the voice message, which has its own route)."""
        request = load_request(session, user, request_id)
        return list(
            session.scalars(
                select(Attachment)
                .where(Attachment.request_id == request.id)
                .order_by(Attachment.id)
            )
        )

    def voice_message(self, session: Session, user: User, request_id: int) -> StoredFile:
        """The request's voice message, audited as listened to by the user.

        Raises:
            NotFound: the request is not visible, has no voice message, or its file is gone.
        """
        request = load_request(session, user, request_id)
        require(user, Action.WORK_REQUEST)
        if not request.voice_message_path:
            raise NotFound("the request has no voice message")
        path = self._resolve(request.voice_message_path)
        self._audit(session, user, request.id, "voice_message_listened", {})
        return StoredFile(path, "audio/wav", f"{request.reference_number}.wav", self._content(path))

    def attachment(
        self, session: Session, user: User, request_id: int, attachment_id: int
    ) -> StoredFile:
        """One of the request's files (a fax document...), audited as opened by the user."""
        request = load_request(session, user, request_id)
        require(user, Action.WORK_REQUEST)
        attachment = session.get(Attachment, attachment_id)
        if attachment is None or attachment.request_id != request.id:
            raise NotFound("no such attachment")
        path = self._resolve(attachment.path)
        kind = (
            "voice_message_listened"
            if attachment.kind == AttachmentKind.VOICE_MESSAGE
            else "attachment_opened"
        )
        self._audit(session, user, request.id, kind, {"attachment_id": attachment.id})
        suffix = path.suffix or ""
        name = f"{request.reference_number}-{attachment.id}{suffix}"
        return StoredFile(path, attachment.content_type, name, self._content(path))

    def _content(self, path: Path) -> bytes:
        try:
            return self._vault.read_any(path)
        except (VaultError, OSError) as exc:
            log.error("stored file %s cannot be read: %s", path.name, exc)
            raise NotFound("the file cannot be read") from exc

    def _resolve(self, stored: str) -> Path:
        path = Path(stored)
        if not path.is_absolute():
            path = self._var_dir / path
        if not path.is_file():
            raise NotFound("the file is no longer stored")
        return path

    def _audit(
        self, session: Session, user: User, request_id: int, kind: str, details: dict[str, int]
    ) -> None:
        record_event(
            session, request_id, kind, actor=actor_of(user), at=self._clock(), details=details
        )
        session.commit()
