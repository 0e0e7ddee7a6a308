"""Domain errors. Their identifiers are part of the API and IVR contract: do not rename them."""

from __future__ import annotations


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
