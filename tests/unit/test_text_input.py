"""The one normalisation of what people type and paste (tawasul.text_input)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tawasul.errors import ValidationError
from tawasul.ids import normalize_saudi_mobile
from tawasul.text_input import ascii_digits, compact_number, digits, integer_text


def test_every_unicode_decimal_digit_becomes_its_ascii_digit():
    every = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Nd"]
    assert len(every) > 600
    assert ascii_digits("".join(every)) == "".join(str(unicodedata.decimal(d)) for d in every)
    assert ascii_digits("".join(every)).isascii()


@pytest.mark.parametrize("other", ["²", "½", "①", "Ⅻ", "〇", "一"])
def test_numbers_that_are_not_decimal_digits_stay(other):
    assert ascii_digits(other) == other
    with pytest.raises(ValidationError):
        digits(other, "field")


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("\u200e+966 50 123 4567\u200f", "+966501234567"),
        ("\u202b٠٥٠\u202c-١٢٣-٤٥٦٧", "0501234567"),
        ("\u2067(050)\u00a0123\u2009٤٥٦٧\u2069", "0501234567"),
        ("tel:+966-50-123-4567", "+966501234567"),
        ("\ufeff050.123.4567\u200b", "0501234567"),
        ("050\t123\n4567\r\n", "0501234567"),
        ("٠٥٠١٢٣٤٥٦٧\u061c", "0501234567"),  # the Arabic letter mark
    ],
)
def test_what_is_pasted_around_a_number_goes(pasted, expected):
    assert compact_number(pasted) == expected


def test_digits_name_the_field_they_refuse():
    with pytest.raises(ValidationError) as err:
        digits("12a4", "code")
    assert err.value.field == "code"
    with pytest.raises(ValidationError):
        digits("\u200f \u200e", "code")


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), (" ٤٢ ", 42), ("-٣", -3), ("۱۰۰", 100), ("０", 0), ("0042", 42)],
)
def test_integers_in_any_digits(text, value):
    assert integer_text(text) == value


@pytest.mark.parametrize(
    "text", ["", "-", "+5", "²", "1e3", "0x10", "4\x00", "٣٫٥", "1 000", "1" * 19, "\u200f5"]
)
def test_anything_else_is_no_integer(text):
    assert integer_text(text) is None


DIGIT_SCRIPTS = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "０１２３４５６７８９"]
NOISE = " \u00a0\u2009\u202f-\u2010\u2011\u2013.()\u200b\u200e\u200f\u202a\u202c\u2066\u2069\ufeff"


@given(
    subscriber=st.text(alphabet="0123456789", min_size=8, max_size=8),
    prefix=st.sampled_from(["05", "5", "9665", "009665", "+9665", "tel:+9665", "+966 (0)5"]),
    scripts=st.lists(st.sampled_from(DIGIT_SCRIPTS), min_size=12, max_size=12),
    noise=st.lists(st.text(alphabet=NOISE, max_size=2), min_size=16, max_size=16),
)
def test_any_spelling_of_a_mobile_is_the_same_e164(subscriber, prefix, scripts, noise):
    plain = prefix + subscriber
    spelled = []
    for position, ch in enumerate(plain):
        if ch.isdigit():
            ch = scripts[position % len(scripts)][int(ch)]
        spelled.append(ch + (noise[position % len(noise)] if position >= len(prefix) - 1 else ""))
    assert normalize_saudi_mobile("".join(spelled)) == "+9665" + subscriber
