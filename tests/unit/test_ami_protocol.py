"""AMI framing: encoding actions (no header injection) and parsing messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.ami import AMIError, AMIValueError, encode_action, parse_message


def test_encode_action_frames_with_crlf_and_a_blank_line():
    frame = encode_action([("Action", "Ping"), ("ActionID", "ami-1")])
    assert frame == b"Action: Ping\r\nActionID: ami-1\r\n\r\n"


def test_encode_action_keeps_order_repeats_and_stringifies():
    frame = encode_action(
        [
            ("Action", "Originate"),
            ("Channel", "PJSIP/100"),
            ("Priority", 1),
            ("Async", True),
            ("Variable", "A=1"),
            ("Variable", "B=2"),
            ("Data", ""),
        ]
    )
    assert frame == (
        b"Action: Originate\r\n"
        b"Channel: PJSIP/100\r\n"
        b"Priority: 1\r\n"
        b"Async: True\r\n"
        b"Variable: A=1\r\n"
        b"Variable: B=2\r\n"
        b"Data: \r\n"
        b"\r\n"
    )


def test_encode_action_utf8_and_colons_in_values():
    frame = encode_action([("CallerID", '"عميل" <0501234567>'), ("Data", "a:b:c")])
    expected = 'CallerID: "عميل" <0501234567>\r\nData: a:b:c\r\n\r\n'
    assert frame == expected.encode("utf-8")


def test_encode_action_empty():
    assert encode_action([]) == b"\r\n"


@pytest.mark.parametrize(
    "value",
    [
        "x\r\nAction: Command",
        "x\r\nAction: Command\r\nCommand: core stop now",
        "x\nAction: Command",
        "x\rAction: Command",
        "\r\n",
        "\n",
        "trailing\r",
    ],
)
def test_encode_action_refuses_cr_or_lf_in_a_value(value):
    with pytest.raises(AMIValueError):
        encode_action([("Action", "Setvar"), ("Value", value)])


def test_injection_through_a_non_string_value_is_refused():
    class Sneaky:
        def __str__(self) -> str:
            return "1\r\nAction: Command\r\nCommand: core stop now"

    with pytest.raises(AMIValueError):
        encode_action([("Action", "Setvar"), ("Value", Sneaky())])


@pytest.mark.parametrize(
    "name",
    ["", "Action:", "Ac tion", "Action\r\nX", "Action\n", "X:Y", "A=B", "-"],
)
def test_encode_action_refuses_odd_header_names(name):
    with pytest.raises(AMIValueError):
        encode_action([(name, "x")])


@pytest.mark.parametrize("name", ["Action", "ActionID", "X-Custom-Header", "Variable2"])
def test_encode_action_accepts_header_names_with_dashes_and_digits(name):
    assert encode_action([(name, "v")]) == f"{name}: v\r\n\r\n".encode()


def test_ami_value_error_is_a_value_error_and_an_ami_error():
    with pytest.raises(ValueError):
        encode_action([("Action", "\n")])
    with pytest.raises(AMIError):
        encode_action([("Action", "\n")])


def test_parse_message_basic():
    message = parse_message(
        "Response: Success\r\nActionID: ami-1\r\nMessage: Authentication accepted"
    )
    assert message == {
        "Response": "Success",
        "ActionID": "ami-1",
        "Message": "Authentication accepted",
    }


def test_parse_message_repeated_keys_are_joined_by_newline():
    message = parse_message(
        "Response: Success\r\n"
        "Output: Channel              Location\r\n"
        "Output: PJSIP/100-00000001   s@intake:1\r\n"
        "Output: 1 active channel"
    )
    assert message["Output"] == (
        "Channel              Location\nPJSIP/100-00000001   s@intake:1\n1 active channel"
    )


def test_parse_message_values_with_colons_and_spaces():
    message = parse_message(
        "Event: Newchannel\r\n"
        "Uniqueid: 1732761234.42\r\n"
        "Data: agi://127.0.0.1:4573/intake\r\n"
        "Time: 12:34:56\r\n"
        "Padded:   three spaces\r\n"
        "Tight:value\r\n"
        "Empty:\r\n"
        "EmptySpace: "
    )
    assert message == {
        "Event": "Newchannel",
        "Uniqueid": "1732761234.42",
        "Data": "agi://127.0.0.1:4573/intake",
        "Time": "12:34:56",
        "Padded": "  three spaces",  # only the one separating space is dropped
        "Tight": "value",
        "Empty": "",
        "EmptySpace": "",
    }


def test_parse_message_keeps_lines_without_a_colon_as_text():
    message = parse_message("Response: Follows\r\nfree text line\r\n\r\nanother line")
    assert message["Response"] == "Follows"
    assert message["_text"] == "free text line\nanother line\n"


def test_parse_message_empty():
    assert parse_message("") == {}


HEADER_NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
HEADER_NAME = HEADER_NAME.filter(lambda name: name.replace("-", "") != "")
# Lone surrogates cannot be encoded at all: see test_unencodable_value_is_an_ami_value_error.
HEADER_VALUE = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"])
)


@given(st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=8))
def test_encode_then_parse_round_trips(headers):
    frame = encode_action(headers.items()).decode("utf-8")
    assert frame.endswith("\r\n\r\n") or frame == "\r\n"
    block = frame[: -len("\r\n\r\n")] if headers else ""
    assert parse_message(block) == headers


@given(HEADER_VALUE, HEADER_VALUE)
def test_no_value_can_add_a_line_to_the_frame(first, second):
    frame = encode_action([("Action", "Setvar"), ("Variable", first), ("Value", second)])
    lines = frame.split(b"\r\n")
    assert len(lines) == 5  # three headers, the blank line, and what follows the last CRLF
    assert lines[0] == b"Action: Setvar"
    assert lines[3:] == [b"", b""]


def test_unencodable_value_is_an_ami_value_error():
    with pytest.raises(AMIValueError):
        encode_action([("Action", "Originate"), ("CallerID", "caller \udce9")])
