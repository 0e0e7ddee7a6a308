"""The centre's staff: accounts with their role and branch, and their API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tawasul.models.base import Base, UTCDateTime, _enum, utcnow


class Role(StrEnum):
    """What a member of staff may do: agents work requests, supervisors decide, admins manage."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class User(Base):
    """A member of the centre's staff who signs in to the console or the API."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    """scrypt, with its parameters and salt (see ``tawasul.accounts``)."""
    role: Mapped[Role] = mapped_column(_enum(Role, 16))
    branch: Mapped[str] = mapped_column(String(32), index=True)
    extension: Mapped[str | None] = mapped_column(String(64))
    """The softphone endpoint click-to-call rings first, e.g. PJSIP/1001. An extension of the
    form ``PJSIP/<digits>`` is also the account's SIP identity: ``tawasul.sip_accounts``
    generates Asterisk's endpoint ``<digits>`` from it."""
    sip_secret: Mapped[str | None] = mapped_column(String(255))
    """The SIP digest password, encrypted (``PiiProtector``, context ``sip:<id>``); never the
    login password. None until the account's first endpoint is generated."""
    sip_device: Mapped[str] = mapped_column(String(8), default="webrtc")
    """What registers as the endpoint: "webrtc" (the console page) or "sip" (a desk phone
    or softphone over UDP)."""
    takes_calls: Mapped[bool] = mapped_column(default=False)
    """The account answers the branch queue's calls: only such staff are queue members and have
    a presence (agents by default; a supervisor who also answers sets it on their own)."""
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped to sign every console session of the user out (password change, deactivation)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A revocable bearer token of an API client; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
