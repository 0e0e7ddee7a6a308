"""Domain errors. Their identifiers are part of the API and IVR contract: do not rename them."""

from __future__ import annotations

from datetime import datetime


class TawasulError(Exception):
    """Base of every error the domain raises on purpose."""

    error_id = "tawasul-error"


class ValidationError(TawasulError):
    """An input failed a domain rule (bad national ID, bad phone number...)."""

    error_id = "invalid-input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ConfigError(TawasulError):
    """The configuration is missing something the process needs, or holds a bad value."""

    error_id = "config-error"


class NotFound(TawasulError):
    """The thing asked for does not exist (or the asker may not know that it does)."""

    error_id = "not-found"


class IllegalTransition(TawasulError):
    """A request was asked to move to a status its workflow does not allow from where it is."""

    error_id = "illegal-transition"

    def __init__(self, current: str, target: str, allowed: list[str]) -> None:
        super().__init__(f"cannot go from {current} to {target}; allowed: {', '.join(allowed)}")
        self.current = current
        self.target = target
        self.allowed = allowed


class Unauthenticated(TawasulError):
    """No valid credentials came with the call (or the ones given were wrong)."""

    error_id = "unauthenticated"


class Forbidden(TawasulError):
    """The user is known but may not take this action: their role, or the request is held by
    another member of staff.

    ``reason`` is a stable id (``role``, ``claimed_by_other``...), ``details`` what goes with it.
    """

    error_id = "forbidden"

    def __init__(
        self, message: str, reason: str = "role", details: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.details = details or {}


class TooManyAttempts(TawasulError):
    """Too many wrong passwords or codes: locked for ``retry_after_s`` seconds."""

    error_id = "too-many-attempts"

    def __init__(self, message: str, retry_after_s: int, reason: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.reason = reason
        """A stable id of which limit, when it helps the reader (``codes_sent``)."""


class Conflict(TawasulError):
    """The action clashes with the current state (a full slot, a taken username...)."""

    error_id = "conflict"


class AppointmentNotStarted(TawasulError):
    """Complete or No-show before the appointment's start (a supervisor may override)."""

    error_id = "appointment_not_started"

    def __init__(self, starts_at: datetime, may_override: bool = False) -> None:
        super().__init__(f"the appointment starts at {starts_at.isoformat()}")
        self.starts_at = starts_at
        self.may_override = may_override


class NotAnAgent(Conflict):
    """The user takes no calls (``User.takes_calls`` is false), so has no queue presence."""

    error_id = "not-an-agent"


class VerificationFailed(TawasulError):
    """An identity check did not succeed (wrong code, expired, refused, still pending)."""

    error_id = "verification-failed"

    def __init__(self, reason: str, attempts_left: int = 0) -> None:
        super().__init__(f"identity not verified: {reason}")
        self.reason = reason
        self.attempts_left = attempts_left


class TelephonyUnavailable(TawasulError):
    """The telephony system could not place the call now (AMI down, Asterisk silent)."""

    error_id = "telephony-unavailable"
