"""Masking of personal data for logs: the mask functions, scrub() and the logging filter."""

from __future__ import annotations

import io
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tawasul.ids import damm_digit
from tawasul.masking import (
    ScrubbingFilter,
    install_log_scrubbing,
    mask_digits,
    mask_national_id,
    mask_phone,
    scrub,
)

NATIONAL_ID = "1012345678"
IQAMA = "2234567890"

# -- the mask functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("1012345678", "1*********"),
        ("2234567890", "2*********"),
        ("7", "7"),
    ],
)
def test_mask_national_id(value, expected):
    assert mask_national_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("+966501234567", "+966******567"),
        ("0501234567", "05*****567"),
        ("966501234567", "96*******567"),
        ("00966501234567", "00*********567"),
        ("12345", "*****"),
        ("123", "***"),
        ("123456", "12*456"),
    ],
)
def test_mask_phone(value, expected):
    assert mask_phone(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(None, ""), ("", ""), ("0123", "####")])
def test_mask_digits(value, expected):
    assert mask_digits(value) == expected


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_mask_digits_hides_every_digit_and_keeps_length(value):
    masked = mask_digits(value)
    assert len(masked) == len(value)
    assert not any(ch.isdigit() for ch in masked)


# -- scrub -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NATIONAL_ID, "1*********"),
        (IQAMA, "2*********"),
        (f"national_id={NATIONAL_ID}", "national_id=1*********"),
        (f"id:{NATIONAL_ID},", "id:1*********,"),
        (f"caller typed {NATIONAL_ID} twice", "caller typed 1********* twice"),
        (f"({NATIONAL_ID})", "(1*********)"),
        (f"'{NATIONAL_ID}'", "'1*********'"),
        (f'{{"national_id": "{NATIONAL_ID}"}}', '{"national_id": "1*********"}'),
        (f"/requests?nid={NATIONAL_ID}&x=1", "/requests?nid=1*********&x=1"),
        (f"رقم الهوية {NATIONAL_ID}", "رقم الهوية 1*********"),
        (f"{NATIONAL_ID} {IQAMA}", "1********* 2*********"),
    ],
)
def test_scrub_masks_national_ids(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0501234567", "05*****567"),
        ("+966501234567", "+966******567"),
        ("00966501234567", "00*********567"),
        ("966501234567", "96*******567"),
        ("from 0551234567 to +966561234567", "from 05*****567 to +966******567"),
        ("callerid=<0501234567>", "callerid=<05*****567>"),
        ('"+966501234567"', '"+966******567"'),
        ("PJSIP/0501234567-00000001", "PJSIP/05*****567-00000001"),
    ],
)
def test_scrub_masks_saudi_phone_numbers(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text", [f"The ID is {NATIONAL_ID}.", "Call me on 0501234567.", f"{NATIONAL_ID}. Next"]
)
def test_scrub_masks_numbers_at_the_end_of_a_sentence(text):
    scrubbed = scrub(text)
    assert NATIONAL_ID not in scrubbed
    assert "0501234567" not in scrubbed


@pytest.mark.parametrize(
    "text",
    ["call 050 123 4567", "call 050-123-4567", "call +966 50 123 4567", "call 00966 50 123 4567"],
)
def test_scrub_masks_grouped_phone_spellings(text):
    scrubbed = scrub(text)
    assert "4567" not in scrubbed


def reference_starting_with(first: str) -> str:
    body = first + "1234567"
    return body + str(damm_digit(body))


@pytest.mark.parametrize(
    "first",
    [first for first in "123456789"],
)
def test_scrub_leaves_reference_numbers_alone(first):
    reference = reference_starting_with(first)
    text = f"request filed, reference {reference} (ref={reference})"
    assert scrub(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "1732761234.42",
        "Uniqueid: 1732761234.42",
        "linkedid=1732761234.4 uniqueid=1732761234.12345",
        "channel PJSIP/trunk-0000002a uniqueid 2032761234.7",
        "asterisk-1732761234.42",
        "v1.1012345678",  # a dotted version-like token is not free-standing
    ],
)
def test_scrub_leaves_asterisk_uniqueids_alone(text):
    assert scrub(text) == text


@given(
    st.integers(min_value=1_000_000_000, max_value=2_999_999_999),
    st.integers(min_value=0, max_value=10**6),
)
def test_scrub_leaves_any_uniqueid_alone(epoch, sequence):
    text = f"uniqueid={epoch}.{sequence}"
    assert scrub(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no personal data here",
        "12345678",  # 8 digits
        "101234567",  # 9 digits starting with 1
        "10123456789",  # 11 digits: not a national ID
        "3012345678",  # 10 digits not starting with 1 or 2
        "0112345678",  # landline
        "port 4573 took 6000 ms",
    ],
)
def test_scrub_leaves_other_numbers_alone(text):
    assert scrub(text) == text


@given(st.text(alphabet=st.characters(blacklist_categories=["Nd"])))
def test_scrub_does_not_change_text_without_digits(text):
    assert scrub(text) == text


@given(st.lists(st.sampled_from([NATIONAL_ID, IQAMA, "0501234567", "+966501234567", "x", " "])))
def test_scrub_is_idempotent(parts):
    text = "".join(parts)
    once = scrub(text)
    assert scrub(once) == once


@given(st.sampled_from(["1", "2"]), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_scrub_masks_any_free_standing_national_id(first, rest):
    value = first + rest
    scrubbed = scrub(f"caller {value} typed")
    assert value not in scrubbed
    assert scrubbed == f"caller {first}{'*' * 9} typed"


# -- the logging filter ----------------------------------------------------------------------


@pytest.fixture
def captured():
    """A private logger whose only handler writes, through the scrubbing filter, to a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(ScrubbingFilter())
    logger = logging.getLogger("tests.unit.masking")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield logger, buffer
    finally:
        logger.removeHandler(handler)


def test_filter_masks_a_message_built_from_args(captured):
    logger, buffer = captured
    logger.info("caller %s typed %s for %s", "0501234567", NATIONAL_ID, "riyadh")
    output = buffer.getvalue()
    assert output == "INFO caller 05*****567 typed 1********* for riyadh\n"


def test_filter_masks_an_exception_traceback(captured):
    logger, buffer = captured

    def file_request(national_id):
        raise ValueError(f"duplicate request for {national_id}")

    try:
        file_request(NATIONAL_ID)
    except ValueError:
        logger.exception("intake failed for %s", IQAMA)
    output = buffer.getvalue()
    assert "Traceback (most recent call last)" in output
    assert "ValueError: duplicate request for 1*********" in output
    assert "intake failed for 2*********" in output
    assert NATIONAL_ID not in output
    assert IQAMA not in output


def test_filter_masks_a_traceback_even_when_the_message_is_clean(captured):
    logger, buffer = captured
    try:
        raise KeyError(f"+966501234567 {NATIONAL_ID}")
    except KeyError:
        logger.error("lookup failed", exc_info=True)
    output = buffer.getvalue()
    assert "+966501234567" not in output
    assert NATIONAL_ID not in output
    assert "+966******567 1*********" in output


def test_filter_keeps_clean_records_untouched_and_never_drops_them():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "step %s of %d", ("a", 3), None)
    assert ScrubbingFilter().filter(record) is True
    assert record.msg == "step %s of %d"
    assert record.args == ("a", 3)
    assert record.getMessage() == "step a of 3"


def test_filter_replaces_msg_and_args_when_it_masks():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "id %s", (NATIONAL_ID,), None)
    assert ScrubbingFilter().filter(record) is True
    assert record.getMessage() == "id 1*********"
    assert record.args is None


def test_install_log_scrubbing_adds_one_filter_per_handler():
    logger = logging.getLogger("tests.unit.masking.install")
    first, second = logging.StreamHandler(io.StringIO()), logging.StreamHandler(io.StringIO())
    logger.addHandler(first)
    logger.addHandler(second)
    try:
        install_log_scrubbing(logger)
        install_log_scrubbing(logger)
        for handler in (first, second):
            filters = [f for f in handler.filters if isinstance(f, ScrubbingFilter)]
            assert len(filters) == 1
        logger.propagate = False
        logger.warning("phone %s", "0501234567")
        assert first.stream.getvalue() == "phone 05*****567\n"
    finally:
        logger.removeHandler(first)
        logger.removeHandler(second)


# -- identifiers stay, personal data in every spelling goes -----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Uniqueid: 1700000000.123",
        "linkedid=5c8ee90dc0d442b78dbab21012345678f.2",  # hex-ish, a national ID's digits inside
        "uniqueid 5c8ee90dc0d442b78dbab20501234567f.2 hung up",  # and a phone number's
        "Linkedid: 0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "job 5c8ee90d-c0d4-42b7-8dba-a10123456789 finished",  # an RQ job id (UUID)
        "job outbox-1012-3 handed over",
        "request abcdef0123456789abcdef2012345678 replayed",  # a hex digest
    ],
)
def test_scrub_leaves_call_and_job_identifiers_alone(text):
    assert scrub(text) == text


def test_scrub_masks_personal_data_beside_an_identifier():
    text = f"uniqueid=5c8ee90dc0d442b78dbab21012345678f.2 nid={NATIONAL_ID} cid=0501234567"
    assert scrub(text) == (
        "uniqueid=5c8ee90dc0d442b78dbab21012345678f.2 nid=1********* cid=05*****567"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("١٠١٢٣٤٥٦٧٨", "١*********"),  # a national ID in Arabic-Indic digits
        ("هوية ٢٢٣٤٥٦٧٨٩٠ هنا", "هوية ٢********* هنا"),
        ("۱۰۱۲۳۴۵۶۷۸", "۱*********"),  # Eastern Arabic-Indic (Persian) digits
        ("٠٥٠١٢٣٤٥٦٧", "٠٥*****٥٦٧"),
        ("+٩٦٦٥٠١٢٣٤٥٦٧", "+٩٦٦******٥٦٧"),
        ("٩٦٦٥٠١٢٣٤٥٦٧", "٩٦*******٥٦٧"),
        ("05٠١٢٣٤٥٦٧", "05*****٥٦٧"),  # mixed spellings
        ("9665٠١٢٣٤٥٦٧", "96*******٥٦٧"),
    ],
)
def test_scrub_masks_arabic_indic_digits(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "number", ["+966501234567", "00966501234567", "966501234567", "0501234567"]
)
@pytest.mark.parametrize("template", ["{}", "to={}", "x {} y", "PJSIP/{}-0000002a", "<{}>"])
def test_scrub_masks_every_phone_format(number, template):
    scrubbed = scrub(template.format(number))
    assert number not in scrubbed
    assert "01234" not in scrubbed


@given(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32), st.integers(0, 99))
def test_scrub_leaves_any_hex_uniqueid_alone(body, sequence):
    text = f"uniqueid={body}a.{sequence}"
    assert scrub(text) == text
