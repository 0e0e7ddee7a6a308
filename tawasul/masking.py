"""Masking of personal data for logs, journeys and anything else a human may read in bulk."""

from __future__ import annotations

import logging
import re


def mask_national_id(value: str | None) -> str:
    """Keep only the first digit (citizen or resident): the last digits answer follow-up checks."""
    if not value:
        return ""
    return value[:1] + "*" * (len(value) - 1)


def mask_phone(value: str | None) -> str:
    """Keep the country prefix and the last three digits of a phone number."""
    if not value:
        return ""
    if len(value) <= 5:
        return "*" * len(value)
    head = 4 if value.startswith("+") else 2
    return value[:head] + "*" * (len(value) - head - 3) + value[-3:]


def mask_digits(value: str | None) -> str:
    """Hide every digit of a keypad entry (used for what a caller typed)."""
    if not value:
        return ""
    return "#" * len(value)


# Anything that looks like a national ID (10 digits starting 1 or 2) or a Saudi mobile number in
# the spellings people write (with or without +966/00966/0, grouped by spaces or dashes). Not
# inside a longer number, nor the tail of an Asterisk uniqueid (epoch.sequence); a full stop
# after it is fine. A bare 5XXXXXXXX is not matched: it cannot be told from a reference number.
_BEFORE = r"(?<!\d)(?<!\d\.)"
_AFTER = r"(?!\d)(?!\.\d)"
_NATIONAL_ID = re.compile(_BEFORE + r"[12]\d{9}" + _AFTER)
_PHONE = re.compile(_BEFORE + r"(?:(?:\+|00)?966[ -]?|0)5(?:[ -]?\d){8}" + _AFTER)


def scrub(text: str) -> str:
    """Mask every national ID and Saudi phone number found in free text."""
    text = _NATIONAL_ID.sub(lambda m: mask_national_id(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class ScrubbingFilter(logging.Filter):
    """A last line of defence: masks personal data in every record that reaches a handler.

    Code should mask on purpose (the functions above); this filter catches what slips through,
    including values inside exception messages and tracebacks.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def install_log_scrubbing(root: logging.Logger | None = None) -> None:
    """Attach the scrubbing filter to every handler of the given (default root) logger."""
    logger = root or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, ScrubbingFilter) for f in handler.filters):
            handler.addFilter(ScrubbingFilter())
