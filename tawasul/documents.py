"""Documents that come with a request (a fax, a scanned telegram): checked, stored, attached.

Files live under ``<var_dir>/documents``, never inside the Asterisk chroot; the ``Attachment``
row keeps the path relative to the var directory, so the directory can move.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tawasul.errors import ValidationError
from tawasul.models import Attachment, AttachmentKind, Request, utcnow
from tawasul.vault import Vault

log = logging.getLogger(__name__)

DOCUMENTS_DIR = "documents"
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
"""The largest scanned document an agent may upload."""


@dataclass(frozen=True)
class DocumentType:
    """A file type the centre accepts, recognised by its first bytes, not by its name."""

    content_type: str
    suffix: str
    signatures: tuple[bytes, ...]


ACCEPTED_TYPES = (
    DocumentType("application/pdf", ".pdf", (b"%PDF-",)),
    DocumentType("image/jpeg", ".jpg", (b"\xff\xd8\xff",)),
    DocumentType("image/png", ".png", (b"\x89PNG\r\n\x1a\n",)),
    DocumentType("image/tiff", ".tif", (b"II*\x00", b"MM\x00*")),
)


def sniff(head: bytes) -> DocumentType:
    """The accepted type whose signature starts ``head``.

    Raises:
        ValidationError: (field ``document``) for an empty file or any other type.
    """
    if not head:
        raise ValidationError("document", "the file is empty")
    for kind in ACCEPTED_TYPES:
        if head.startswith(kind.signatures):
            return kind
    names = ", ".join(kind.content_type for kind in ACCEPTED_TYPES)
    raise ValidationError("document", f"must be one of {names}")


@dataclass(frozen=True)
class StoredDocument:
    """A document written under the var directory, not yet attached to a request."""

    relative_path: str
    content_type: str
    size: int


class DocumentStore:
    """Writes documents under ``<var_dir>/documents/<folder>/<year>/<month>/``."""

    def __init__(
        self,
        var_dir: Path,
        vault: Vault,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._var_dir = var_dir
        self._vault = vault
        self._max_bytes = max_bytes
        self._clock = clock

    @property
    def max_bytes(self) -> int:
        """The size limit of one document."""
        return self._max_bytes

    def new_path(self, folder: str, suffix: str) -> tuple[str, Path]:
        """A fresh, unguessable location: (path relative to the var directory, absolute path)."""
        now = self._clock()
        relative = Path(DOCUMENTS_DIR, folder, f"{now:%Y}", f"{now:%m}")
        (self._var_dir / relative).mkdir(parents=True, exist_ok=True, mode=0o750)
        name = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(8)}{suffix}"
        return str(relative / name), self._var_dir / relative / name

    def save(self, folder: str, content: bytes) -> StoredDocument:
        """Check a document's size and type and write it (atomically, owner-readable only).

        Raises:
            ValidationError: (field ``document``) too large, empty, or of a refused type.
        """
        if len(content) > self._max_bytes:
            raise ValidationError("document", f"at most {self._max_bytes} bytes")
        kind = sniff(content[:16])
        relative, _target = self.new_path(folder, kind.suffix)
        self._vault.write(relative, content)  # encrypted at rest, atomically, mode 600
        return StoredDocument(relative, kind.content_type, len(content))

    def discard(self, relative_path: str) -> None:
        """Remove a document whose request was not filed (the transaction failed)."""
        try:
            (self._var_dir / relative_path).unlink()
        except FileNotFoundError:
            pass
        except OSError:
            log.exception("could not remove the orphan document %s", relative_path)


def attach(
    session: Session,
    request: Request,
    kind: AttachmentKind,
    relative_path: str,
    content_type: str,
    at: datetime | None = None,
) -> Attachment:
    """Add an ``Attachment`` row for a stored document, in the caller's transaction."""
    attachment = Attachment(
        request_id=request.id,
        kind=kind,
        path=relative_path,
        content_type=content_type,
        created_at=at or utcnow(),
    )
    session.add(attachment)
    return attachment
