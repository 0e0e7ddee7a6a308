"""How many SMS parts a text takes, counted the way the networks count them.

A text whose every character is in the GSM 03.38 default alphabet travels in GSM-7: 160 septets
in one message, 153 per part once it is split (the user data header of a concatenated message
takes the other 7). A character of the extension table (``{ } [ ] ~ | ^ \\ €`` and form feed)
is an escape and a character: two septets, and a part never ends between the two. Any other
character (all of Arabic) sends the whole text in UCS-2: 70 UTF-16 code units in one message,
67 per part; a character outside the Basic Multilingual Plane (an emoji) is two code units, and a
part never ends between them. Operators bill per part, and a long text may arrive out of order
or in pieces on an old handset, so templates are kept within a budget (:data:`PART_BUDGET`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 default alphabet (one septet each); 0x1B is the escape to the extension."""
GSM7_EXTENSION = "\f^{}\\[~]|€"
"""The extension table: each is sent as escape + character, two septets."""

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67

PART_BUDGET = 2
"""The most parts a requester's SMS may take, with the longest values a template is given."""


class SmsEncoding(StrEnum):
    """The data coding a text is sent in."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class SmsLength:
    """A text's encoding, its length in that encoding's units, and its part count."""

    encoding: SmsEncoding
    units: int
    """Septets (GSM-7) or UTF-16 code units (UCS-2)."""
    parts: int
    single: int
    """Units one unsplit message holds in this encoding (160 or 70)."""
    per_part: int
    """Units each part of a split message holds (153 or 67)."""


def _widths(text: str) -> tuple[SmsEncoding, list[int]]:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        widths = [2 if char in GSM7_EXTENSION else 1 for char in text]
        return SmsEncoding.GSM7, widths
    return SmsEncoding.UCS2, [2 if ord(char) > 0xFFFF else 1 for char in text]


def sms_length(text: str) -> SmsLength:
    """Count ``text``'s parts as the network splits it (an empty text is one message)."""
    encoding, widths = _widths(text)
    single, per_part = (
        (GSM7_SINGLE, GSM7_PART) if encoding == SmsEncoding.GSM7 else (UCS2_SINGLE, UCS2_PART)
    )
    units = sum(widths)
    if units <= single:
        return SmsLength(encoding, units, 1, single, per_part)
    parts, used = 1, 0
    for width in widths:
        # An escape pair or a surrogate pair is never split: it starts the next part.
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return SmsLength(encoding, units, parts, single, per_part)


def sms_parts(text: str) -> int:
    """How many SMS parts ``text`` is sent in."""
    return sms_length(text).parts


def split_parts(text: str) -> tuple[SmsEncoding, list[str]]:
    """Split ``text`` where the network splits it: its encoding and each part's characters.

    The cut follows :func:`sms_length` exactly (an escape pair or a surrogate pair is never
    split), so the parts sent over SMPP are the parts counted and billed.
    """
    encoding, widths = _widths(text)
    length = sms_length(text)
    if length.parts == 1:
        return encoding, [text]
    parts: list[str] = []
    start, used = 0, 0
    for index, width in enumerate(widths):
        if used + width > length.per_part:
            parts.append(text[start:index])
            start, used = index, 0
        used += width
    parts.append(text[start:])
    return encoding, parts
