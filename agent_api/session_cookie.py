"""The console's session cookie: signed, expiring 10 hours after its last use, signed again at
most once a minute rather than on every answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature

REFRESH_AFTER = timedelta(minutes=1)
"""How old a cookie's signature may be before an answer signs it again (the app's
``SESSION_REFRESH_AFTER`` wins)."""


class ConsoleSession(SecureCookieSession):
    """A session that knows when its cookie was signed."""

    signed_at: datetime | None = None
    """When the cookie it came in was signed (None: a new session)."""


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, which slides its expiry without signing on every answer.

    Flask signs a permanent session's cookie again on every answer
    (``SESSION_REFRESH_EACH_REQUEST``): its signature's timestamp, checked against
    ``PERMANENT_SESSION_LIFETIME`` when it comes back, is then the last use, and an idle
    session ends that long after it. Signing is a tenth of a cheap read's CPU (the JSON of the
    session, an HMAC, the cookie header), so here an answer signs again only once the
    signature is ``SESSION_REFRESH_AFTER`` old (a minute). The timeout is still counted from
    a signature and checked as strictly: a session idle for the lifetime never passes, and one
    in use ends at most that minute earlier than it would have.
    """

    session_class = ConsoleSession

    def open_session(self, app: Flask, request: Request) -> ConsoleSession | None:
        """The session of the request's cookie, with when it was signed (a new one if none,
        badly signed or expired)."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.signed_at = signed_at
        return session

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """Sign when the session changed, or (permanent, refreshed) when its cookie's
        signature is older than ``SESSION_REFRESH_AFTER``."""
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        if signed_at is None:
            return True
        refresh_after: timedelta = app.config.get("SESSION_REFRESH_AFTER", REFRESH_AFTER)
        return bool(datetime.now(UTC) - signed_at >= refresh_after)


def install(app: Flask) -> None:
    """Use :class:`ConsoleSessionInterface` for the app's sessions."""
    app.session_interface = ConsoleSessionInterface()
