"""Keypad identifiers: Damm reference numbers, national IDs (Luhn) and Saudi mobile numbers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tawasul import ids
from tawasul.errors import ValidationError
from tawasul.ids import (
    REFERENCE_LENGTH,
    damm_digit,
    is_valid_reference_number,
    luhn_valid,
    new_reference_number,
    normalize_e164,
    normalize_reference_number,
    normalize_saudi_mobile,
    validate_national_id,
)

DIGITS = "0123456789"


# -- helpers computed independently of the code under test ----------------------------------


def luhn_check_digit(body: str) -> str:
    """The Luhn digit that makes ``body + digit`` valid (textbook algorithm, written here)."""
    total = 0
    # In the full number the check digit sits at position 0 from the right, so the body's
    # rightmost digit is at position 1 and is doubled, then every second one to the left.
    for position, ch in enumerate(reversed(body)):
        value = int(ch)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def national_id(body: str) -> str:
    return body + luhn_check_digit(body)


def substitutions(number: str):
    """Every number that differs from ``number`` in exactly one digit."""
    for position, original in enumerate(number):
        for digit in DIGITS:
            if digit != original:
                yield number[:position] + digit + number[position + 1 :]


def adjacent_transpositions(number: str):
    """Every number made by swapping two adjacent, different digits."""
    for position in range(len(number) - 1):
        a, b = number[position], number[position + 1]
        if a != b:
            yield number[:position] + b + a + number[position + 2 :]


# -- Damm ------------------------------------------------------------------------------------


def test_damm_table_is_a_totally_antisymmetric_quasigroup_with_zero_diagonal():
    # These are the properties that give Damm its guarantees; a typo in the table breaks one.
    table = ids._DAMM
    assert len(table) == 10
    for row in table:
        assert sorted(row) == list(range(10))
    for column in range(10):
        assert sorted(row[column] for row in table) == list(range(10))
    for i in range(10):
        assert table[i][i] == 0


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("", 0),
        ("0", 0),
        ("5", 9),  # row 0 is not the identity: 0 -> 5 -> 9
        ("572", 4),  # the worked example of Damm's algorithm
        ("5724", 0),
        ("12345678", damm_digit("12345678")),
    ],
)
def test_damm_digit_known_values(digits, expected):
    assert damm_digit(digits) == expected


def test_damm_digit_of_number_with_its_check_digit_is_zero():
    for body in ("10000000", "99999999", "31415926", "27182818", "50000005"):
        assert damm_digit(body + str(damm_digit(body))) == 0


VALID_REFERENCES = [
    body + str(damm_digit(body))
    for body in ("10000000", "99999999", "12345678", "31415926", "80808080", "55555555")
]


@pytest.mark.parametrize("reference", VALID_REFERENCES)
def test_valid_reference_numbers_pass(reference):
    assert len(reference) == REFERENCE_LENGTH
    assert is_valid_reference_number(reference)


@pytest.mark.parametrize("reference", VALID_REFERENCES)
def test_every_single_digit_substitution_is_rejected_exhaustively(reference):
    variants = list(substitutions(reference))
    assert len(variants) == 9 * REFERENCE_LENGTH
    for variant in variants:
        assert damm_digit(variant) != 0, variant
        assert not is_valid_reference_number(variant), variant


@pytest.mark.parametrize("reference", VALID_REFERENCES)
def test_every_adjacent_transposition_is_rejected_exhaustively(reference):
    for variant in adjacent_transpositions(reference):
        assert damm_digit(variant) != 0, variant
        assert not is_valid_reference_number(variant), variant


def test_all_substitutions_and_transpositions_of_every_three_digit_number_are_caught():
    # A complete proof over a smaller space: all 1000 three-digit strings with their digit.
    for body in map("".join, itertools.product(DIGITS, repeat=3)):
        number = body + str(damm_digit(body))
        for variant in itertools.chain(substitutions(number), adjacent_transpositions(number)):
            assert damm_digit(variant) != 0, (number, variant)


@given(st.text(alphabet=DIGITS, min_size=REFERENCE_LENGTH - 1, max_size=REFERENCE_LENGTH - 1))
def test_damm_catches_single_errors_for_any_body(body):
    number = body + str(damm_digit(body))
    assert damm_digit(number) == 0
    for variant in itertools.chain(substitutions(number), adjacent_transpositions(number)):
        assert damm_digit(variant) != 0


@pytest.mark.parametrize(
    "value",
    [
        "",
        VALID_REFERENCES[0][:-1],  # 8 digits
        VALID_REFERENCES[0] + "0",  # 10 digits
        "0" + "0000000" + str(damm_digit("00000000")),  # damm-valid but starts with 0
        "٥٧٢٤٥٧٢٤٠",  # Arabic-Indic digits are not keypad digits
        "12345678a",
        " " + VALID_REFERENCES[0][1:],
        VALID_REFERENCES[0][:4] + "-" + VALID_REFERENCES[0][5:],
    ],
)
def test_malformed_reference_numbers_are_rejected(value):
    assert not is_valid_reference_number(value)


def test_leading_zero_reference_is_rejected_even_though_its_check_digit_holds():
    number = "01234567" + str(damm_digit("01234567"))
    assert damm_digit(number) == 0
    assert not is_valid_reference_number(number)


def test_new_reference_number_shape():
    seen = set()
    for _ in range(500):
        reference = new_reference_number()
        assert len(reference) == REFERENCE_LENGTH
        assert reference.isascii() and reference.isdigit()
        assert reference[0] != "0"
        assert is_valid_reference_number(reference)
        seen.add(reference)
    assert len(seen) > 490  # random, not a counter or a constant


@pytest.mark.parametrize(
    ("drawn", "body"),
    [(0, "10000000"), (9 * 10**7 - 1, "99999999"), (12345, "10012345")],
)
def test_new_reference_number_uses_the_whole_eight_digit_range(monkeypatch, drawn, body):
    calls = []

    def fake_randbelow(bound):
        calls.append(bound)
        return drawn

    monkeypatch.setattr(ids.secrets, "randbelow", fake_randbelow)
    assert new_reference_number() == body + str(damm_digit(body))
    assert calls == [9 * 10**7]


# -- Luhn and national IDs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("79927398713", True),  # the textbook example
        ("79927398710", False),
        ("0", True),
        ("18", True),
        ("4111111111111111", True),
        ("4111111111111112", False),
    ],
)
def test_luhn_known_values(digits, valid):
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize("body", ["101234567", "100000000", "199999999", "200000000", "245678901"])
def test_valid_national_ids_pass_and_are_returned(body):
    value = national_id(body)
    assert validate_national_id(value) == value


@given(
    st.sampled_from("12"),
    st.text(alphabet=DIGITS, min_size=8, max_size=8),
)
def test_national_id_accepts_only_its_own_check_digit(first, rest):
    body = first + rest
    good = luhn_check_digit(body)
    assert validate_national_id(body + good) == body + good
    for digit in DIGITS:
        if digit != good:
            with pytest.raises(ValidationError) as err:
                validate_national_id(body + digit)
            assert err.value.reason == "check digit does not match"


REASON_DIGITS = "must contain digits only"
REASON_LENGTH = "must be 10 digits long"
REASON_PREFIX = "must start with 1 (citizen) or 2 (resident)"
REASON_CHECK = "check digit does not match"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", REASON_DIGITS),
        ("10123456a8", REASON_DIGITS),
        ("+1012345678", REASON_DIGITS),
        ("1012345678²", REASON_DIGITS),  # a superscript is not a digit anyone types
        ("1012\x07345678", REASON_DIGITS),  # a bell is not pasted around numbers (tabs are)
        # Separators are dropped before the length is checked: these are 9 digits.
        ("1012 45678", REASON_LENGTH),
        ("-101234567", REASON_LENGTH),
        ("١٠١٢٣٤٥٦٧", REASON_LENGTH),  # Arabic-Indic digits
        ("101234567", REASON_LENGTH),
        ("10123456789", REASON_LENGTH),
        ("1", REASON_LENGTH),
        (national_id("001234567"), REASON_PREFIX),
        (national_id("301234567"), REASON_PREFIX),
        (national_id("901234567"), REASON_PREFIX),
        ("101234567" + str((int(luhn_check_digit("101234567")) + 1) % 10), REASON_CHECK),
    ],
)
def test_invalid_national_ids_give_a_validation_error_with_a_reason(value, reason):
    with pytest.raises(ValidationError) as err:
        validate_national_id(value)
    assert err.value.field == "national_id"
    assert err.value.reason == reason
    assert err.value.error_id == "invalid-input"


def test_national_id_failure_reasons_are_distinct():
    assert len({REASON_DIGITS, REASON_LENGTH, REASON_PREFIX, REASON_CHECK}) == 4


def test_prefix_is_checked_on_luhn_valid_numbers():
    # A number that passes Luhn but starts with 3 must still be refused, for its prefix.
    value = national_id("312345678")
    assert luhn_valid(value)
    with pytest.raises(ValidationError, match="must start with 1"):
        validate_national_id(value)


# -- Saudi mobile numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "0501234567",
        "501234567",
        "+966501234567",
        "00966501234567",
        "966501234567",
        "050 123 4567",
        "050-123-4567",
        "+966 50 123 4567",
        "+966-50-123-4567",
        "00966 50 123 4567",
        "(050) 123-4567",
        " 0501234567 ",
        "050.123.4567",
    ],
)
def test_saudi_mobile_spellings_normalise_to_e164(value):
    assert normalize_saudi_mobile(value) == "+966501234567"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0599999999", "+966599999999"), ("+966 55 000 0001", "+966550000001")],
)
def test_saudi_mobile_keeps_the_subscriber_digits(value, expected):
    assert normalize_saudi_mobile(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "0112345678",  # Riyadh landline
        "+966112345678",  # Riyadh landline, international
        "0126543210",  # Jeddah landline
        "0601234567",  # not a 05 prefix
        "050123456",  # too short
        "05012345678",  # too long
        "+96650123456",  # too short
        "+9665012345678",  # too long
        "",
        "05O1234567",  # letter O
        "05012345six",
        "mobile",
        "+",
        "٠١١٢٣٤٥٦٧٨",  # a landline in Arabic-Indic digits
        "05٠1234567²",
    ],
)
def test_non_mobile_numbers_are_rejected(value):
    with pytest.raises(ValidationError) as err:
        normalize_saudi_mobile(value)
    assert err.value.field == "phone"


@pytest.mark.parametrize("value", ["05O1234567", "+9665012345x7", "abc"])
def test_letters_in_a_phone_number_are_a_digits_only_error(value):
    with pytest.raises(ValidationError) as err:
        normalize_saudi_mobile(value)
    assert err.value.reason == "must contain digits only"


@pytest.mark.parametrize("value", ["+512345678", "00512345678", "+0501234567"])
def test_international_prefix_requires_the_saudi_country_code(value):
    with pytest.raises(ValidationError):
        normalize_saudi_mobile(value)


# -- what people type and paste ----------------------------------------------------------------

PASTED_MOBILES = [
    "٠٥٠١٢٣٤٥٦٧",  # Arabic-Indic digits, as an Arabic keyboard types them
    "۰۵۰۱۲۳۴۵۶۷",  # Extended Arabic-Indic (Persian, Urdu) digits
    "٥٠١٢٣٤٥٦٧",
    "+٩٦٦٥٠١٢٣٤٥٦٧",
    "٠٠٩٦٦٥٠١٢٣٤٥٦٧",
    "０５０１２３４５６７",  # fullwidth digits
    "\u200e+966 50 123 4567\u200f",  # bidi marks a chat app wraps a number in
    "\u2066050\u00a0123\u00a04567\u2069",  # isolates and no-break spaces
    "+966\u200950\u2009123\u20094567",  # thin spaces (a phone's contact card)
    "+966\u202f50\u202f123\u202f4567",  # narrow no-break spaces
    "050\u200b123\u200c4567\ufeff",  # zero-width characters
    "050\u2013123\u20144567",  # en and em dashes
    "050\u2011123\u22124567",  # non-breaking hyphen, minus sign
    "tel:+966501234567",
    "TEL:0501234567",
    "+966 (0)50 123 4567",  # the trunk zero written inside the international form
    "9665٠١٢٣٤٥٦٧",  # mixed scripts
    "٠٥٠-١٢٣-٤٥٦٧",
]


@pytest.mark.parametrize("value", PASTED_MOBILES)
def test_typed_and_pasted_mobiles_normalise_to_e164(value):
    assert normalize_saudi_mobile(value) == "+966501234567"


def test_mobile_errors_name_the_field_they_are_given():
    with pytest.raises(ValidationError) as err:
        normalize_saudi_mobile("٠١١٢٣٤٥٦٧٨", "mobile")
    assert err.value.field == "mobile"


@pytest.mark.parametrize(
    "spelling",
    [
        lambda v: v.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        lambda v: v.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")),
        lambda v: f"\u200f{v[:4]} {v[4:7]} {v[7:]}\u200e",
        lambda v: f"{v[:5]}-{v[5:]}",
        lambda v: f"\u2067{v}\u2069\u200b",
    ],
)
def test_national_ids_in_any_digits_are_returned_in_ascii(spelling):
    value = national_id("101234567")
    assert validate_national_id(spelling(value)) == value


def test_reference_numbers_in_any_digits_are_returned_in_ascii():
    reference = new_reference_number()
    arabic = reference.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert normalize_reference_number(f"\u200f{arabic[:3]} {arabic[3:]}") == reference
    with pytest.raises(ValidationError) as err:
        normalize_reference_number(reference[:-1] + str((int(reference[-1]) + 1) % 10))
    assert err.value.field == "reference_number"


@pytest.mark.parametrize(
    "value",
    [
        "966112345678",  # international without its prefix (what many carriers send)
        "+966112345678",
        "00966112345678",
        "0112345678",  # national
        "112345678",  # the national significant number alone
        "+966 (0)11 234 5678",
        "tel:+966-11-234-5678",
        "٠١١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    ],
)
def test_every_form_a_carrier_sends_normalises_to_e164(value):
    assert normalize_e164(value) == "+966112345678"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0501234567", "+966501234567"),
        ("966501234567", "+966501234567"),
        ("920012345", "+966920012345"),  # unified number
        ("+442071234567", "+442071234567"),  # another country's number keeps its code
        ("00442071234567", "+442071234567"),
        ("0044 20 7123 4567", "+442071234567"),
        ("02071234567", "+442071234567"),  # national, of the country given
    ],
)
def test_e164_keeps_foreign_numbers_and_uses_the_given_country(value, expected):
    country = "44" if value == "02071234567" else "966"
    assert normalize_e164(value, country) == expected


@pytest.mark.parametrize(
    "value",
    ["", "+", "0", "00", "anonymous", "0112x45678", "+96611", "+9661234567890123", "+0112345678"],
)
def test_what_is_not_a_phone_number_is_refused(value):
    with pytest.raises(ValidationError) as err:
        normalize_e164(value, field="did")
    assert err.value.field == "did"
