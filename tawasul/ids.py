"""Identifiers callers type on a keypad: national IDs, reference numbers and phone numbers.

Every check here is pure and fast so the IVR can run it between two AGI commands.
"""

from __future__ import annotations

import re
import secrets

from tawasul.errors import ValidationError

# The Damm quasigroup of order 10 (Damm 2004). Unlike Luhn it catches every single-digit error
# and every transposition of two adjacent digits, the two mistakes people make on a keypad.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

REFERENCE_LENGTH = 9
"""Reference numbers are 8 random digits (the first not zero) and one Damm check digit."""


def damm_digit(digits: str) -> int:
    """Return the Damm check digit of a string of decimal digits."""
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][ord(ch) - 48]
    return interim


def luhn_valid(digits: str) -> bool:
    """Return True when the digits pass the Luhn (mod 10) check."""
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = ord(ch) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def new_reference_number() -> str:
    """Return a fresh random reference number with its check digit (not yet known to be unique)."""
    body = str(secrets.randbelow(9 * 10 ** (REFERENCE_LENGTH - 2)) + 10 ** (REFERENCE_LENGTH - 2))
    return body + str(damm_digit(body))


def is_valid_reference_number(value: str) -> bool:
    """Return True when the value has the shape of a reference number and its check digit holds."""
    return (
        len(value) == REFERENCE_LENGTH
        and value.isascii()
        and value.isdigit()
        and value[0] != "0"
        and damm_digit(value) == 0
    )


def validate_national_id(value: str) -> str:
    """Check a Saudi national ID (starts with 1) or iqama (starts with 2) and return it.

    Both are ten digits whose last digit is a Luhn check digit over the other nine.

    Raises:
        ValidationError: with a reason the IVR and the API can map to a message.
    """
    if not (value.isascii() and value.isdigit()):
        raise ValidationError("national_id", "must contain digits only")
    if len(value) != 10:
        raise ValidationError("national_id", "must be 10 digits long")
    if value[0] not in "12":
        raise ValidationError("national_id", "must start with 1 (citizen) or 2 (resident)")
    if not luhn_valid(value):
        raise ValidationError("national_id", "check digit does not match")
    return value


_NON_DIGITS = re.compile(r"[\s\-().]")


def normalize_saudi_mobile(value: str) -> str:
    """Return a Saudi mobile number in E.164 form (+9665XXXXXXXX).

    Accepts 05XXXXXXXX, 5XXXXXXXX, 9665XXXXXXXX, 009665XXXXXXXX and +9665XXXXXXXX, with spaces
    or dashes between groups.

    Raises:
        ValidationError: when the value is not a Saudi mobile number.
    """
    compact = _NON_DIGITS.sub("", value)
    international = compact.startswith(("+", "00"))
    if compact.startswith("+"):
        compact = compact[1:]
    elif compact.startswith("00"):
        compact = compact[2:]
    if not (compact.isascii() and compact.isdigit()):
        raise ValidationError("phone", "must contain digits only")
    if compact.startswith("966"):
        national = compact[3:]
    elif international:
        raise ValidationError("phone", "must be a Saudi mobile number (05XXXXXXXX)")
    elif compact.startswith("0"):
        national = compact[1:]
    else:
        national = compact
    if len(national) != 9 or not national.startswith("5"):
        raise ValidationError("phone", "must be a Saudi mobile number (05XXXXXXXX)")
    return "+966" + national
