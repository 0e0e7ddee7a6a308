"""Identifiers callers type on a keypad: national IDs, reference numbers and phone numbers.

Every check here is pure and fast so the IVR can run it between two AGI commands.
"""

from __future__ import annotations

import secrets

from tawasul.errors import ValidationError
from tawasul.text_input import compact_number, digits

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


def normalize_reference_number(value: str) -> str:
    """Return a typed or pasted reference number as ASCII digits (any script, separators gone).

    Raises:
        ValidationError: naming ``reference_number`` when it is not a valid reference number.
    """
    typed = digits(value, "reference_number")
    if not is_valid_reference_number(typed):
        raise ValidationError("reference_number", "not a reference number")
    return typed


def is_valid_reference_number(value: str) -> bool:
    """Return True when the value has the shape of a reference number and its check digit holds."""
    return (
        len(value) == REFERENCE_LENGTH
        and value.isascii()
        and value.isdigit()
        and value[0] != "0"
        and damm_digit(value) == 0
    )


def validate_national_id(value: str, field: str = "national_id") -> str:
    """Check a Saudi national ID (starts with 1) or iqama (starts with 2) and return it in
    ASCII digits.

    Both are ten digits whose last digit is a Luhn check digit over the other nine. Digits of
    any script and what is pasted around them are normalised first (``tawasul.text_input``).

    Args:
        value: the ID as typed or pasted.
        field: the name the error gives (the API's field name).

    Returns:
        The ten ASCII digits.

    Raises:
        ValidationError: with a reason the IVR and the API can map to a message.
    """
    value = digits(value, field)
    if len(value) != 10:
        raise ValidationError(field, "must be 10 digits long")
    if value[0] not in "12":
        raise ValidationError(field, "must start with 1 (citizen) or 2 (resident)")
    if not luhn_valid(value):
        raise ValidationError(field, "check digit does not match")
    return value


SAUDI_COUNTRY_CODE = "966"
E164_MAX_DIGITS = 15
E164_MIN_DIGITS = 8


def _international_digits(value: str, country_code: str, field: str) -> str:
    """Return the number's digits with its country code first (E.164 without the ``+``).

    ``+CC...`` and ``00CC...`` are international; ``CC...`` with this country's code is the
    international form without its prefix (what many carriers send); ``0...`` is national (the
    trunk zero goes); anything else is a national significant number. A national trunk zero
    written inside the international form ("+966 (0)50 ...") goes too.
    """
    compact = compact_number(value)
    international = compact.startswith(("+", "00"))
    if compact.startswith("+"):
        compact = compact[1:]
    elif compact.startswith("00"):
        compact = compact[2:]
    if not compact or not (compact.isascii() and compact.isdigit()):
        raise ValidationError(field, "must contain digits only")
    if compact.startswith(country_code):
        national = compact[len(country_code) :]
    elif international:
        return compact  # another country's number: kept as it was given
    elif compact.startswith("0"):
        national = compact[1:]
    else:
        national = compact
    # No national significant number starts with the trunk zero: one here was written inside
    # the international form, "+966 (0)50 ...".
    return country_code + national.removeprefix("0")


def normalize_e164(value: str, country_code: str = SAUDI_COUNTRY_CODE, field: str = "phone") -> str:
    """Return a phone number in E.164 (``+`` and 8 to 15 digits), whatever form it came in.

    Carriers send numbers (called DIDs and callers' numbers) as ``966112345678``,
    ``+966112345678``, ``00966112345678``, ``0112345678`` or ``112345678``; people type and
    paste them in any digits with separators around them (see ``tawasul.text_input``). All of
    those give ``+966112345678``. A number given with another country's code keeps it.

    Args:
        value: the number as received, typed or pasted.
        country_code: the country a national number (``0...`` or bare) belongs to.
        field: the name the error gives.

    Returns:
        The number in E.164.

    Raises:
        ValidationError: when the value is not digits, or too short or too long for E.164.
    """
    number = _international_digits(value, country_code, field)
    if not E164_MIN_DIGITS <= len(number) <= E164_MAX_DIGITS or number.startswith("0"):
        raise ValidationError(field, "must be a phone number")
    return "+" + number


def normalize_saudi_mobile(value: str, field: str = "phone") -> str:
    """Return a Saudi mobile number in E.164 form (+9665XXXXXXXX).

    Accepts 05XXXXXXXX, 5XXXXXXXX, 9665XXXXXXXX, 009665XXXXXXXX and +9665XXXXXXXX, in any
    digits, with whatever a person pastes around them (spaces, dashes, dots, brackets, direction
    marks, ``tel:``): see ``tawasul.text_input``.

    Args:
        value: the number as typed or pasted.
        field: the name the error gives (the API's field name).

    Returns:
        The number in E.164.

    Raises:
        ValidationError: when the value is not a Saudi mobile number.
    """
    number = _international_digits(value, SAUDI_COUNTRY_CODE, field)
    national = number.removeprefix(SAUDI_COUNTRY_CODE)
    if national == number or len(national) != 9 or not national.startswith("5"):
        raise ValidationError(field, "must be a Saudi mobile number (05XXXXXXXX)")
    return "+" + number
