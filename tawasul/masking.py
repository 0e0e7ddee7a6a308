"""Masking of personal data for logs, journeys and anything else a human may read in bulk."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable


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

# Identifiers that merely contain digit runs: a hex uniqueid or linkedid (``5c8e...0f.2``, with a
# ``.N`` tail), a UUID (RQ job ids), a long hex digest. They name a call or a job, not a person,
# and a log line is useless once they are masked. A hex token is one only when it has a letter
# and is long (16 characters or more): a short word with digits stays under the masks above.
_IDENTIFIER = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|(?=[0-9a-f]*[a-f])[0-9a-f]{16,}(?:\.\d+)?)"
    r"(?![0-9A-Za-z])",
    re.IGNORECASE,
)

# Callers and agents also write digits in Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹)
# forms; the patterns above see every decimal digit as its ASCII twin (one character for one).
_ASCII_DIGITS = {ord(ch): str(int(ch)) for ch in "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹"}


def _scrub_part(text: str) -> str:
    """Mask national IDs and phone numbers in text that holds no identifier."""
    ascii_text = text.translate(_ASCII_DIGITS)
    spans = [m.span() for m in _NATIONAL_ID.finditer(ascii_text)]
    masked = _mask_spans(text, spans, mask_national_id)
    ascii_masked = masked.translate(_ASCII_DIGITS)
    spans = [m.span() for m in _PHONE.finditer(ascii_masked)]
    return _mask_spans(masked, spans, mask_phone)


def _mask_spans(text: str, spans: list[tuple[int, int]], mask: Callable[[str], str]) -> str:
    # Masks keep the length, so spans found in the ASCII twin apply to the original text.
    for start, end in reversed(spans):
        text = text[:start] + mask(text[start:end]) + text[end:]
    return text


def scrub(text: str) -> str:
    """Mask every national ID and Saudi phone number found in free text.

    Identifiers (Asterisk uniqueids and linkedids, job ids, references) are left as they are, so
    a log line can still be matched to its call or its job.
    """
    parts: list[str] = []
    last = 0
    for match in _IDENTIFIER.finditer(text):
        parts.append(_scrub_part(text[last : match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_scrub_part(text[last:]))
    return "".join(parts)


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
