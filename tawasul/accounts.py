"""Staff accounts: password hashing, sign-in with lockout, and revocable API tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.errors import Conflict, NotFound, TooManyAttempts, Unauthenticated, ValidationError
from tawasul.models import ApiToken, Role, User, utcnow
from tawasul.presence import INTERFACE
from tawasul.security_log import record

log = logging.getLogger(__name__)

# scrypt with n=2**14, r=8 (16 MiB, about 50 ms here): OWASP's minimum for interactive logins.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_LEN = 32

LOCKOUT_THRESHOLD = 5
"""Consecutive wrong passwords before the account is locked."""
LOCKOUT_S = 15 * 60

TOKEN_PREFIX = "tws_"  # noqa: S105 (a format tag, not a secret)
TOKEN_USE_STAMPED_EVERY = timedelta(minutes=1)
"""A bearer token's ``last_used_at`` is true to the minute: stamped at most this often."""


@dataclass(frozen=True)
class TokenUse:
    """A valid bearer token, as :meth:`AccountService.token_use` found it."""

    user: User
    token_id: int
    stamp_due: bool
    """Its ``last_used_at`` is a minute old or more (or unset): stamp it."""


USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
ENDPOINT = re.compile(r"[A-Za-z0-9/_@.-]{1,64}")
"""An agent's softphone endpoint: no spaces, colons, CR or LF that could reach AMI framing."""
MIN_PASSWORD = 10


def hash_password(password: str, salt: bytes | None = None) -> str:
    """Hash a password with scrypt; the result carries its parameters and salt.

    Args:
        password: the password in clear.
        salt: the salt to use; None draws 16 random bytes (given only by tests).

    Returns:
        ``scrypt$n$r$p$salt$digest``, salt and digest in base64.
    """
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN
    )
    encode = base64.b64encode
    return (
        f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$"
        f"{encode(salt).decode('ascii')}${encode(digest).decode('ascii')}"
    )


def verify_password(password: str, stored: str) -> bool:
    """Check a password against a stored hash, in constant time.

    Args:
        password: the password as typed.
        stored: a hash made by :func:`hash_password`.

    Returns:
        Whether they match; False for a hash that is malformed or of another scheme.
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password("tawasul-timing-equaliser")


def token_digest(token: str) -> str:
    """The SHA-256 a token is stored as (a random 256-bit token needs no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_endpoint(value: str) -> str:
    """Return a softphone endpoint if it is safe to hand to the telephony system.

    Raises:
        ValidationError: for anything outside ``[A-Za-z0-9/_@.-]`` (CR/LF, spaces, colons).
    """
    if not ENDPOINT.fullmatch(value):
        raise ValidationError("extension", "only letters, digits and / _ @ . - are allowed")
    return value


@dataclass(frozen=True)
class NewUser:
    """What an admin gives to open an account."""

    username: str
    password: str
    role: Role
    branch: str
    extension: str | None = None
    takes_calls: bool | None = None
    """Answers the branch queue's calls; None: agents do, supervisors and admins do not."""


class AccountService:
    """Opens accounts, signs users in, and issues and revokes API tokens."""

    def __init__(self, branches: tuple[str, ...], clock: Callable[[], datetime] = utcnow) -> None:
        self._branches = branches
        self._clock = clock

    def create_user(self, session: Session, new: NewUser) -> User:
        """Open an account.

        Args:
            session: committed on return.
            new: the account's details; the password is hashed, never stored.

        Returns:
            The new user.

        Raises:
            ValidationError: a bad username, short password, unknown branch or bad extension.
            Conflict: the username is taken.
        """
        username = new.username.strip().lower()
        if not USERNAME.fullmatch(username):
            raise ValidationError("username", "2-64 of a-z, 0-9, '.', '_', '-'")
        self._check_password(new.password)
        self._check_branch(new.branch)
        if new.extension is not None:
            check_endpoint(new.extension)
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"the username {username} is taken")
        user = User(
            username=username,
            password_hash=hash_password(new.password),
            role=new.role,
            branch=new.branch,
            extension=new.extension,
            takes_calls=new.role == Role.AGENT if new.takes_calls is None else new.takes_calls,
            is_active=True,
            failed_logins=0,
            session_version=1,
            created_at=self._clock(),
        )
        session.add(user)
        session.commit()
        log.info("account %s opened (%s, %s)", username, new.role.value, new.branch)
        return user

    def update_user(
        self,
        session: Session,
        user_id: int,
        *,
        role: Role | None = None,
        branch: str | None = None,
        extension: str | None = None,
        is_active: bool | None = None,
        password: str | None = None,
        takes_calls: bool | None = None,
    ) -> User:
        """Change an account; a new password or a deactivation signs its sessions out.

        A deactivation also revokes the user's API tokens.

        Args:
            session: committed on return.
            user_id: the account to change.
            role: the new role, if it changes.
            branch: the new branch, if it changes.
            extension: the new softphone endpoint; "" removes it.
            is_active: False deactivates the account, True reactivates it.
            password: a new password (resets the failed sign-ins and any lock).
            takes_calls: whether the account answers the branch queue's calls.

        Returns:
            The changed user.

        Raises:
            NotFound: no such user.
            ValidationError: as for :meth:`create_user`.
        """
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        if branch is not None:
            self._check_branch(branch)
            user.branch = branch
        if role is not None:
            user.role = role
        if extension is not None:
            user.extension = check_endpoint(extension) if extension else None
        if takes_calls is not None:
            user.takes_calls = takes_calls
        if password is not None:
            self._check_password(password)
            user.password_hash = hash_password(password)
            user.session_version += 1
            user.failed_logins = 0
            user.locked_until = None
        if is_active is not None:
            if user.is_active and not is_active:
                user.session_version += 1
                for token in session.scalars(
                    select(ApiToken).where(
                        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
                    )
                ):
                    token.revoked_at = self._clock()
            user.is_active = is_active
        session.commit()
        return user

    def set_own_phone(
        self,
        session: Session,
        user_id: int,
        *,
        extension: str | None = None,
        takes_calls: bool | None = None,
    ) -> User:
        """A member of staff sets their own softphone and whether they answer the queue.

        Stricter than an admin's change: the extension must be a queue interface (e.g.
        ``PJSIP/1001``), since that is what presence hands to Asterisk, and taking calls needs
        one.

        Args:
            session: committed on return.
            user_id: the signed-in user.
            extension: the softphone endpoint; "" removes it; None leaves it.
            takes_calls: answer the branch queue's calls; None leaves it.

        Returns:
            The changed user.

        Raises:
            NotFound: no such user.
            ValidationError: ``extension`` not a softphone endpoint, or missing while
                ``takes_calls`` is true.
        """
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        extension = self.check_own_phone(user, extension, takes_calls)
        return self.update_user(session, user_id, extension=extension, takes_calls=takes_calls)

    def check_own_phone(
        self, user: User, extension: str | None, takes_calls: bool | None
    ) -> str | None:
        """Check what :meth:`set_own_phone` would set, changing nothing.

        Args:
            user: the signed-in user.
            extension: the new softphone endpoint; "" removes it; None leaves it.
            takes_calls: answer the branch queue's calls; None leaves it.

        Returns:
            The extension as it would be stored (trimmed), "" or None as given.

        Raises:
            ValidationError: ``extension`` not a softphone endpoint, or missing while
                ``takes_calls`` is true.
        """
        if extension:
            extension = check_endpoint(extension.strip())
            if not INTERFACE.fullmatch(extension):
                raise ValidationError("extension", "not a softphone endpoint (e.g. PJSIP/1001)")
        wanted = user.takes_calls if takes_calls is None else takes_calls
        kept = user.extension if extension is None else (extension or None)
        if wanted and not kept:
            raise ValidationError("extension", "taking calls needs a softphone extension")
        return extension

    def authenticate(self, session: Session, username: str, password: str) -> User:
        """Check a username and password, counting failures towards a lockout.

        Args:
            session: committed on return (the failure count is kept even when this raises).
            username: as typed; case does not matter.
            password: as typed.

        Returns:
            The signed-in user.

        Raises:
            Unauthenticated: unknown user, wrong password or inactive account (one message for
                all, so a caller cannot tell which).
            TooManyAttempts: the account is locked after repeated failures.
        """
        now = self._clock()
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            verify_password(password, _DUMMY_HASH)  # the same time as for a real account
            session.rollback()  # end the read (SQLite: release the lock the event write needs)
            record("login_failed", f"username:{username.strip().lower()[:48]}", reason="unknown")
            raise Unauthenticated("wrong username or password")
        if user.locked_until is not None and user.locked_until > now:
            raise TooManyAttempts(
                "too many failed sign-ins: the account is locked for a while",
                int((user.locked_until - now).total_seconds()) + 1,
            )
        if not verify_password(password, user.password_hash) or not user.is_active:
            user.failed_logins += 1
            locked = user.failed_logins >= LOCKOUT_THRESHOLD
            if locked:
                user.locked_until = now + timedelta(seconds=LOCKOUT_S)
                user.failed_logins = 0
            session.commit()
            record("login_failed", f"user:{user.id}", reason="password or inactive")
            if locked:
                log.warning("account %s locked after repeated failed sign-ins", user.username)
                record("account_locked", f"user:{user.id}", seconds=LOCKOUT_S)
                raise TooManyAttempts("too many failed sign-ins: the account is locked", LOCKOUT_S)
            raise Unauthenticated("wrong username or password")
        user.failed_logins = 0
        user.locked_until = None
        session.commit()
        return user

    def issue_token(self, session: Session, user: User, name: str) -> tuple[ApiToken, str]:
        """Create a bearer token for an API client.

        Args:
            session: committed on return.
            user: the token's owner; the token acts as them.
            name: what the token is for, 1-64 characters.

        Returns:
            The stored token row and the token itself, which is shown once and never stored.

        Raises:
            ValidationError: an empty name, or one over 64 characters.
        """
        name = name.strip()
        if not 1 <= len(name) <= 64:
            raise ValidationError("name", "1-64 characters")
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            user_id=user.id, token_hash=token_digest(plain), name=name, created_at=self._clock()
        )
        session.add(token)
        session.commit()
        return token, plain

    def token_use(self, session: Session, plain: str) -> TokenUse | None:
        """Look a bearer token up (a read: nothing is written here).

        Args:
            session: the unit of work (only read; it may be a read-only one).
            plain: the token as the client sent it.

        Returns:
            The token's user and whether its last use is due to be stamped
            (:meth:`stamp_token_use`), or None for an unknown, revoked or malformed token, or
            for an inactive user.
        """
        if not plain.startswith(TOKEN_PREFIX) or len(plain) > 128:
            return None
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(plain)))
        if token is None or token.revoked_at is not None or not token.user.is_active:
            return None
        last = token.last_used_at
        due = last is None or self._clock() - last >= TOKEN_USE_STAMPED_EVERY
        return TokenUse(token.user, token.id, stamp_due=due)

    def stamp_token_use(self, session: Session, token_id: int) -> None:
        """Record that the token was used now, and commit.

        A write, so not at every request (:data:`TOKEN_USE_STAMPED_EVERY`): on SQLite it takes
        the database's write lock, and an integration that polls would queue behind every
        call's transaction.

        Args:
            session: a unit of work of its own (committed here).
            token_id: the token's id, from :meth:`token_use`.
        """
        token = session.get(ApiToken, token_id)
        if token is not None:
            token.last_used_at = self._clock()
            session.commit()

    def tokens_of(self, session: Session, user: User) -> list[ApiToken]:
        """The user's tokens, revoked ones included, newest first.

        Args:
            session: the unit of work (only read).
            user: the owner.

        Returns:
            The token rows (their hashes, never the tokens).
        """
        return list(
            session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
            )
        )

    def revoke_token(self, session: Session, user: User, token_id: int) -> ApiToken:
        """Revoke one of the user's tokens (admins may revoke anyone's).

        Args:
            session: committed on return.
            user: who revokes it.
            token_id: the token.

        Returns:
            The token, revoked (revoking it again changes nothing).

        Raises:
            NotFound: no such token, or not the user's (and the user is not an admin).
        """
        token = session.get(ApiToken, token_id)
        if token is None or (token.user_id != user.id and user.role != Role.ADMIN):
            raise NotFound("no such token")
        if token.revoked_at is None:
            token.revoked_at = self._clock()
        session.commit()
        return token

    def _check_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise ValidationError("password", f"at least {MIN_PASSWORD} characters")

    def _check_branch(self, branch: str) -> None:
        if branch not in self._branches:
            raise ValidationError("branch", f"one of {', '.join(self._branches)}")
