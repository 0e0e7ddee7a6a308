"""Security: the security-event log and the portal's replay guard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tawasul.models.base import Base, UTCDateTime, utcnow


class SecurityEvent(Base):
    """One security-relevant refusal (written by ``tawasul.security_log``)."""

    __tablename__ = "security_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    """Who tried: "user:<id>", "username:<name>", "portal:<key id>", "ami:<account>"..."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PortalNonce(Base):
    """A signed portal call already accepted: the same signature again is a replay."""

    __tablename__ = "portal_nonce"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the key id, the timestamp and the signature."""
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
