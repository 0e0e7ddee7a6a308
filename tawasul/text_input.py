"""What people type and paste, made into what the system compares: one normalisation for all.

An Arabic keyboard types Arabic-Indic digits (٠١٢...), a Persian or Urdu one the extended
digits (۰۱۲...); a number copied from a phone's contacts or a chat app brings spaces of several
widths, dashes, dots, parentheses, a ``tel:`` scheme and the invisible direction marks that keep
a left-to-right number whole inside right-to-left text. The API, the portal, the console, the
phone menu and the command line all hand what they receive to the functions here (through
``tawasul.ids``), so a number is the same number whichever way it arrived.
"""

from __future__ import annotations

import re
import unicodedata

from tawasul.errors import ValidationError

_SEPARATORS = frozenset("-.()/\u2212\u00ad\u066b\u066c")
"""Written between groups of digits: hyphen, dot, brackets, slash, minus sign, soft hyphen, the
Arabic decimal and thousands separators. Unicode dashes (category Pd) are added below."""
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zs", "Zl", "Zp"})
"""Format characters (bidi marks U+200E/U+200F, embeddings U+202A-U+202E, isolates
U+2066-U+2069, zero-width characters, the BOM) and every kind of space (NBSP, thin, narrow)."""
_TEL_SCHEME = re.compile(r"^\s*tel:", re.IGNORECASE)


def ascii_digits(value: str) -> str:
    """Return ``value`` with every Unicode decimal digit (category Nd) replaced by its ASCII one.

    Only decimal digits change: a superscript ² or a circled ① is not a digit one types for a
    number, so it stays and the value is refused by whoever expected digits.
    """
    if value.isascii():
        return value
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in value
    )


def _is_noise(ch: str) -> bool:
    if ch in _SEPARATORS or ch.isspace():
        return True
    category = unicodedata.category(ch)
    return category in _INVISIBLE_CATEGORIES or category == "Pd"


def compact_number(value: str) -> str:
    """Return a typed or pasted number as ASCII digits and nothing else around them.

    Digits of any script become ASCII; spaces, dashes, dots, brackets, direction marks and
    zero-width characters go; a leading ``tel:`` goes. A leading ``+`` is kept (a phone number
    needs it to tell international from national); anything else stays, for the caller to refuse.
    """
    stripped = _TEL_SCHEME.sub("", value)
    return "".join(ch for ch in ascii_digits(stripped) if not _is_noise(ch))


def digits(value: str, field: str) -> str:
    """Return the ASCII digits of a number a person typed or pasted.

    Args:
        value: what was typed (any digits, with whatever was pasted around them).
        field: the name of the field, for the error.

    Returns:
        A non-empty string of ASCII digits.

    Raises:
        ValidationError: naming ``field`` when anything but digits and separators was given.
    """
    compact = compact_number(value)
    if not compact or not (compact.isascii() and compact.isdigit()):
        raise ValidationError(field, "must contain digits only")
    return compact


def integer_text(value: str) -> int | None:
    """Return the integer an (optionally negative) decimal number in any digits stands for,
    or None when the text is anything else (``²``, ``1e3``, ``0x10``, control characters)."""
    compact = ascii_digits(value.strip())
    body = compact[1:] if compact.startswith("-") else compact
    if not body or not (body.isascii() and body.isdigit()) or len(body) > 18:
        return None
    return int(compact)
