"""The AGI protocol: quoting, command lines, replies, and StreamChannel over a fake Asterisk."""

from __future__ import annotations

import io

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ivr.agi import (
    MAX_ENV_LINES,
    MAX_LINE,
    AGIArgumentError,
    AGICommandError,
    AGIError,
    AGIHangup,
    AGIProtocolError,
    AGIResponse,
    DigitsInput,
    RecordResult,
    StreamChannel,
    format_command,
    parse_environment,
    parse_response,
    quote,
)

# -- a reference implementation of Asterisk's argument splitting -----------------------------


def res_agi_parse_args(line: str) -> list[str]:
    """Split an AGI command line the way Asterisk does.

    This mirrors ``parse_args()`` in Asterisk's ``res/res_agi.c``: a backslash makes the next
    character literal (including a quote, a space or another backslash); a double quote that is
    not escaped toggles quoting and, when it opens a quote after whitespace, starts a new
    argument; a space or tab outside quotes and not escaped ends the current argument. (The
    MAX_ARGS truncation of the C code is left out.)
    """
    argv: list[list[str]] = []
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                argv.append([])
                whitespace = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        # "normal:" in the C code: a literal character.
        if whitespace:
            argv.append([])
            whitespace = False
        argv[-1].append(ch)
        escaped = False
    return ["".join(chars) for chars in argv]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ANSWER", ["ANSWER"]),
        ("SET VARIABLE  X   y", ["SET", "VARIABLE", "X", "y"]),
        ('EXEC Dial "PJSIP/100,30"', ["EXEC", "Dial", "PJSIP/100,30"]),
        ('VERBOSE "a b" 1', ["VERBOSE", "a b", "1"]),
        ('X "" y', ["X", "", "y"]),
        (r"X a\ b", ["X", "a b"]),
        (r'X "say \"hi\""', ["X", 'say "hi"']),
        (r'X "back\\slash"', ["X", "back\\slash"]),
        ('X ab"c d"e', ["X", "abc de"]),
        ("X\ta", ["X", "a"]),
    ],
)
def test_reference_splitter_matches_known_asterisk_behaviour(line, expected):
    assert res_agi_parse_args(line) == expected


# -- quote -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("hello", '"hello"'),
        ("", '""'),
        ("two words", '"two words"'),
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ("ends with \\", r'"ends with \\"'),
        ('\\"', r'"\\\""'),
        ("tab\tin", '"tab\tin"'),
        ("عربي", '"عربي"'),
        (42, '"42"'),
        (-1, '"-1"'),
    ],
)
def test_quote(argument, expected):
    assert quote(argument) == expected


@pytest.mark.parametrize("argument", ["a\rb", "a\nb", "a\x00b", "\r\n", "x\r\nEXEC System rm"])
def test_quote_refuses_line_breaks_and_nul(argument):
    with pytest.raises(AGIArgumentError):
        quote(argument)


def test_agi_argument_error_is_a_value_error_and_an_agi_error():
    with pytest.raises(ValueError):
        quote("\n")
    with pytest.raises(AGIError):
        quote("\n")


def test_quote_refuses_an_object_whose_text_has_a_newline():
    class Sneaky:
        def __str__(self) -> str:
            return "ok\nHANGUP"

    with pytest.raises(AGIArgumentError):
        quote(Sneaky())


SAFE_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(" \t\"\\()$,;|'`"),
        st.characters(blacklist_characters="\r\n\x00"),
    )
)


@given(SAFE_TEXT)
@example("")
@example("\\")
@example('"')
@example('\\"')
@example(' " \\ ')
@example('a" EXEC System "rm -rf /')
def test_quote_is_read_back_by_asterisk_as_exactly_the_input(text):
    assert res_agi_parse_args(quote(text)) == [text]


@given(st.lists(SAFE_TEXT, max_size=5))
def test_format_command_is_read_back_as_command_words_and_arguments(arguments):
    line = format_command("SET VARIABLE", *arguments)
    assert line.endswith("\n")
    assert line.count("\n") == 1
    assert res_agi_parse_args(line[:-1]) == ["SET", "VARIABLE", *arguments]


# -- format_command --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "arguments", "expected"),
    [
        ("ANSWER", (), "ANSWER\n"),
        ("HANGUP", (), "HANGUP\n"),
        ("GET DATA", ("custom/enter-id", 6000, 10), 'GET DATA "custom/enter-id" "6000" "10"\n'),
        ("STREAM FILE", ("beep", ""), 'STREAM FILE "beep" ""\n'),
        ("SET VARIABLE", ("CHANNEL(language)", "ar"), 'SET VARIABLE "CHANNEL(language)" "ar"\n'),
    ],
)
def test_format_command(command, arguments, expected):
    assert format_command(command, *arguments) == expected


@pytest.mark.parametrize(
    "command",
    ["", "A", "answer", "Answer", " ANSWER", "ANSWER ", "ANSWER\n", "ANSWER\nHANGUP", "GET_DATA"],
)
def test_format_command_refuses_odd_command_words(command):
    with pytest.raises(AGIArgumentError):
        format_command(command)


def test_format_command_refuses_bad_arguments():
    with pytest.raises(AGIArgumentError):
        format_command("VERBOSE", "line one\nline two", 1)


# -- parse_environment -----------------------------------------------------------------------


def test_parse_environment():
    env = parse_environment(
        [
            "agi_network: yes",
            "agi_request: agi://127.0.0.1:4573/intake",
            "agi_channel: PJSIP/caller-00000001",
            "agi_uniqueid: 1732761234.42",
            "agi_callerid: 0501234567",
            "agi_calleridname: unknown",
            "agi_rdnis: ",
            "agi_arg_1: intake",
            "agi_arg_2: a: b",
            "agi_compact:value",
        ]
    )
    assert env == {
        "agi_network": "yes",
        "agi_request": "agi://127.0.0.1:4573/intake",
        "agi_channel": "PJSIP/caller-00000001",
        "agi_uniqueid": "1732761234.42",
        "agi_callerid": "0501234567",
        "agi_calleridname": "unknown",
        "agi_rdnis": "",
        "agi_arg_1": "intake",
        "agi_arg_2": "a: b",
        "agi_compact": "value",
    }


def test_parse_environment_empty():
    assert parse_environment([]) == {}


@pytest.mark.parametrize("line", ["200 result=0", "HANGUP", "no colon here", "env_x: 1", ": x"])
def test_parse_environment_refuses_non_agi_lines(line):
    with pytest.raises(AGIProtocolError):
        parse_environment(["agi_request: x", line])


# -- parse_response --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("200 result=0", AGIResponse(0, None, {}, "0")),
        ("200 result=1", AGIResponse(1, None, {}, "1")),
        ("200 result=-1", AGIResponse(-1, None, {}, "-1")),
        ("200 result=49 endpos=12345", AGIResponse(49, None, {"endpos": "12345"}, "49")),
        ("200 result=0123", AGIResponse(123, None, {}, "0123")),
        ("200 result=12 (timeout)", AGIResponse(12, "timeout", {}, "12")),
        ("200 result= (timeout)", AGIResponse(0, "timeout", {}, "")),
        ("200 result=1 (riyadh)", AGIResponse(1, "riyadh", {}, "1")),
        ("200 result=1 (two words)", AGIResponse(1, "two words", {}, "1")),
        ("200 result=1 (f(x) and (y))", AGIResponse(1, "f(x) and (y)", {}, "1")),
        ("200 result=1 ()", AGIResponse(1, "", {}, "1")),
        (
            "200 result=0 (dtmf) endpos=8000",
            AGIResponse(0, "dtmf", {"endpos": "8000"}, "0"),
        ),
        (
            "200 result=1 (speech) endpos=800 results=2",
            AGIResponse(1, "speech", {"endpos": "800", "results": "2"}, "1"),
        ),
    ],
)
def test_parse_response(line, expected):
    assert parse_response(line) == expected


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("510 Invalid or unknown command", 510),
        ("511 Command Not Permitted on a dead channel or intercept routine", 511),
        ("520 Invalid command syntax.  Proper usage not available.", 520),
    ],
)
def test_parse_response_error_codes(line, code):
    with pytest.raises(AGICommandError) as err:
        parse_response(line)
    assert err.value.code == code
    assert str(err.value) == line


@pytest.mark.parametrize(
    "line",
    [
        "",
        "HANGUP",
        "hello world",
        "20 result=1",
        "200",
        "200 ok",
        "200 result=1 (unclosed",
        "404 not found",
        "100 Trying",
        "agi_request: x",
    ],
)
def test_parse_response_refuses_garbage(line):
    with pytest.raises(AGIProtocolError):
        parse_response(line)


# -- StreamChannel against an in-memory fake Asterisk ----------------------------------------

ENV_BLOCK = (
    "agi_network: yes\n"
    "agi_request: agi://127.0.0.1/intake\n"
    "agi_channel: PJSIP/caller-00000001\n"
    "agi_language: ar\n"
    "agi_uniqueid: 1732761234.42\n"
    "agi_callerid: 0501234567\n"
    "agi_arg_1: intake\n"
    "agi_arg_2: riyadh\n"
    "\n"
)


def fake_asterisk(*replies: str, env: str = ENV_BLOCK) -> tuple[StreamChannel, io.StringIO]:
    """A channel reading a scripted Asterisk from a StringIO and writing to another."""
    reader = io.StringIO(env + "".join(reply + "\n" for reply in replies))
    writer = io.StringIO()
    return StreamChannel(reader, writer), writer


def test_environment_is_read_and_nothing_is_written():
    channel, writer = fake_asterisk()
    assert channel.env["agi_request"] == "agi://127.0.0.1/intake"
    assert channel.uniqueid == "1732761234.42"
    assert channel.caller_id == "0501234567"
    assert channel.arguments == ["intake", "riyadh"]
    assert channel.hung_up is False
    assert writer.getvalue() == ""


def test_environment_with_crlf_line_endings():
    channel, _ = fake_asterisk(env="agi_uniqueid: 1.2\r\nagi_callerid: unknown\r\n\r\n")
    assert channel.uniqueid == "1.2"
    assert channel.caller_id == ""
    assert channel.arguments == []


def test_answer_writes_the_command_and_reads_the_reply():
    channel, writer = fake_asterisk("200 result=0")
    channel.answer()
    assert writer.getvalue() == "ANSWER\n"


def test_get_data_returns_the_digits_keeping_leading_zeros():
    channel, writer = fake_asterisk("200 result=0123456789")
    assert channel.get_data("custom/enter-id", 6000, 10) == DigitsInput("0123456789", False)
    assert writer.getvalue() == 'GET DATA "custom/enter-id" "6000" "10"\n'


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("200 result= (timeout)", DigitsInput("", True)),
        ("200 result=12 (timeout)", DigitsInput("12", True)),
        ("200 result=", DigitsInput("", False)),
    ],
)
def test_get_data_timeout(reply, expected):
    channel, _ = fake_asterisk(reply)
    assert channel.get_data("custom/enter-id", 6000, 10) == expected


@pytest.mark.parametrize(
    ("reply", "digit"),
    [
        ("200 result=49 endpos=1234", "1"),
        ("200 result=48 endpos=1", "0"),
        ("200 result=35 endpos=1", "#"),
        ("200 result=42 endpos=1", "*"),
        ("200 result=0 endpos=96000", ""),
    ],
)
def test_stream_file_returns_the_interrupting_digit(reply, digit):
    channel, writer = fake_asterisk(reply)
    assert channel.stream_file("custom/welcome", "12#") == digit
    assert writer.getvalue() == 'STREAM FILE "custom/welcome" "12#"\n'


def test_wait_for_digit():
    channel, writer = fake_asterisk("200 result=50", "200 result=0")
    assert channel.wait_for_digit(3000) == "2"
    assert channel.wait_for_digit(3000) == ""
    assert writer.getvalue() == 'WAIT FOR DIGIT "3000"\n' * 2


def test_a_scripted_conversation_writes_exactly_these_lines():
    channel, writer = fake_asterisk(
        "200 result=0",
        "200 result=1",
        "200 result=1 (jeddah)",
        "200 result=0",
        "200 result=1",
        "200 result=0",
        "200 result=0",
    )
    channel.answer()
    channel.set_variable("CHANNEL(language)", 'en "quoted" \\')
    assert channel.get_variable("TAWASUL_BRANCH") == "jeddah"
    assert channel.get_variable("UNSET") is None
    channel.verbose("reference 123456789", 3)
    assert channel.say_digits("123456789") == ""
    assert channel.exec_application("Playback", "beep") == 0
    assert writer.getvalue() == (
        "ANSWER\n"
        'SET VARIABLE "CHANNEL(language)" "en \\"quoted\\" \\\\"\n'
        'GET VARIABLE "TAWASUL_BRANCH"\n'
        'GET VARIABLE "UNSET"\n'
        'VERBOSE "reference 123456789" "3"\n'
        'SAY DIGITS "123456789" ""\n'
        'EXEC "Playback" "beep"\n'
    )


def test_get_variable_value_with_spaces_and_parentheses():
    channel, _ = fake_asterisk("200 result=1 (Riyadh (main) branch)")
    assert channel.get_variable("X") == "Riyadh (main) branch"


@pytest.mark.parametrize("digits", ["12a", "", "1 2", "+966", "12-3"])
def test_say_digits_refuses_non_digits_without_sending(digits):
    channel, writer = fake_asterisk("200 result=0")
    with pytest.raises(AGIArgumentError):
        channel.say_digits(digits)
    assert writer.getvalue() == ""


@pytest.mark.parametrize("digits", ["١٢٣", "²"])
def test_say_digits_refuses_non_ascii_digits(digits):
    channel, writer = fake_asterisk("200 result=0")
    with pytest.raises(AGIArgumentError):
        channel.say_digits(digits)
    assert writer.getvalue() == ""


def test_argument_with_newline_is_refused_before_anything_is_written():
    channel, writer = fake_asterisk("200 result=1")
    with pytest.raises(AGIArgumentError):
        channel.set_variable("X", "a\nEXEC System reboot")
    assert writer.getvalue() == ""


# -- hang-up ---------------------------------------------------------------------------------


def test_hangup_line_before_a_failed_reply_raises_agi_hangup():
    channel, writer = fake_asterisk("HANGUP", "200 result=-1")
    with pytest.raises(AGIHangup):
        channel.stream_file("custom/welcome")
    assert channel.hung_up is True
    assert writer.getvalue() == 'STREAM FILE "custom/welcome" ""\n'


def test_hangup_line_before_a_good_reply_returns_it_then_refuses_the_next_command():
    channel, writer = fake_asterisk("HANGUP", "200 result=0", "200 result=0")
    response = channel.execute("SET VARIABLE", "X", "1")
    assert response.result == 0
    assert channel.hung_up is True
    with pytest.raises(AGIHangup):
        channel.answer()
    assert writer.getvalue() == 'SET VARIABLE "X" "1"\n'  # nothing sent after the hang-up


def test_minus_one_without_hangup_line_raises_for_checked_commands():
    channel, _ = fake_asterisk("200 result=-1")
    with pytest.raises(AGIHangup):
        channel.get_data("x", 1000, 1)


def test_dead_channel_reply_is_a_hangup():
    channel, _ = fake_asterisk("511 Command Not Permitted on a dead channel or intercept routine")
    with pytest.raises(AGIHangup) as err:
        channel.answer()
    assert channel.hung_up is True
    assert isinstance(err.value.__cause__, AGICommandError)
    assert err.value.__cause__.code == 511


def test_eof_is_a_hangup():
    channel, writer = fake_asterisk()
    with pytest.raises(AGIHangup):
        channel.answer()
    assert channel.hung_up is True
    assert writer.getvalue() == "ANSWER\n"


def test_eof_during_the_environment_is_a_hangup():
    with pytest.raises(AGIHangup):
        StreamChannel(io.StringIO("agi_request: x\nagi_channel: y\n"), io.StringIO())


def test_write_failure_is_a_hangup():
    class BrokenWriter(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    channel = StreamChannel(io.StringIO(ENV_BLOCK), BrokenWriter())
    with pytest.raises(AGIHangup):
        channel.answer()
    assert channel.hung_up is True


# -- command errors and protocol errors ------------------------------------------------------


def test_unknown_command_is_a_command_error():
    channel, _ = fake_asterisk("510 Invalid or unknown command")
    with pytest.raises(AGICommandError) as err:
        channel.execute("NO SUCH THING")
    assert err.value.code == 510
    assert channel.hung_up is False


def test_multi_line_usage_is_read_to_its_end_and_raised():
    channel, _ = fake_asterisk(
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: GET DATA <file to be streamed> [timeout] [maxdigits]",
        "        Stream the given file, and receive DTMF data.",
        "520 End of proper usage.",
        "200 result=7",
    )
    with pytest.raises(AGICommandError) as err:
        channel.execute("GET DATA")
    assert err.value.code == 520
    assert "Usage: GET DATA" in str(err.value)
    # The whole usage block was consumed: the next command reads its own reply.
    assert channel.execute("ANSWER").result == 7


def test_single_line_520_is_a_command_error():
    channel, _ = fake_asterisk("520 Invalid command syntax.  Proper usage not available.")
    with pytest.raises(AGICommandError) as err:
        channel.answer()
    assert err.value.code == 520


def test_overlong_reply_line_is_a_protocol_error():
    channel, _ = fake_asterisk("200 result=1 (" + "x" * (MAX_LINE + 10) + ")")
    with pytest.raises(AGIProtocolError):
        channel.get_variable("HUGE")


def test_longest_reply_line_is_accepted():
    data = "x" * (MAX_LINE - len("200 result=1 ()") - 1)
    channel, _ = fake_asterisk(f"200 result=1 ({data})")
    assert channel.get_variable("BIG") == data


def test_overlong_environment_line_is_a_protocol_error():
    with pytest.raises(AGIProtocolError):
        StreamChannel(io.StringIO("agi_x: " + "y" * MAX_LINE + "\n\n"), io.StringIO())


def test_endless_environment_is_a_protocol_error():
    env = "".join(f"agi_v{i}: {i}\n" for i in range(MAX_ENV_LINES + 5)) + "\n"
    with pytest.raises(AGIProtocolError):
        StreamChannel(io.StringIO(env), io.StringIO())


def test_garbage_reply_is_a_protocol_error():
    channel, _ = fake_asterisk("Welcome to my web server")
    with pytest.raises(AGIProtocolError):
        channel.answer()


def test_garbage_environment_is_a_protocol_error():
    with pytest.raises(AGIProtocolError):
        StreamChannel(io.StringIO("GET / HTTP/1.1\nHost: x\n\n"), io.StringIO())


# -- the commands the phone menu added: RECORD FILE, SAY NUMBER, SAY DATETIME, GET FULL VARIABLE --


def test_record_file_writes_every_argument_and_returns_the_ending_digit():
    channel, writer = fake_asterisk("200 result=35 (dtmf) endpos=24000")
    result = channel.record_file("/var/spool/asterisk/tawasul/1.2-request", "wav", "#", 120000)
    assert result == RecordResult("#", "dtmf", 24000)
    assert result.end_position / 8000 == 3.0
    assert writer.getvalue() == (
        'RECORD FILE "/var/spool/asterisk/tawasul/1.2-request" "wav" "#" "120000" "BEEP"\n'
    )


def test_record_file_without_beep_and_with_a_silence_limit():
    channel, writer = fake_asterisk("200 result=0 (timeout) endpos=80000")
    result = channel.record_file("/tmp/x", "wav", "#*", 10000, beep=False, silence_s=3)
    assert result == RecordResult("", "timeout", 80000)
    assert writer.getvalue() == 'RECORD FILE "/tmp/x" "wav" "#*" "10000" "s=3"\n'


def test_record_file_timeout_with_minus_one_is_not_a_hang_up():
    # Asterisk may report the end of the time allowed with result=-1 and (timeout).
    channel, _ = fake_asterisk("200 result=-1 (timeout) endpos=960000")
    assert channel.record_file("/tmp/x", "wav", "#", 120000).reason == "timeout"


@pytest.mark.parametrize(
    "reply",
    ["200 result=-1 (hangup) endpos=4000", "200 result=-1 (writefile)", "200 result=-1"],
)
def test_record_file_hang_up_or_failure_raises_agi_hangup(reply):
    channel, _ = fake_asterisk(reply)
    with pytest.raises(AGIHangup):
        channel.record_file("/tmp/x", "wav", "#", 120000)


def test_record_file_missing_endpos_counts_as_nothing_recorded():
    channel, _ = fake_asterisk("200 result=49 (dtmf)")
    assert channel.record_file("/tmp/x", "wav", "1", 1000) == RecordResult("1", "dtmf", 0)


@pytest.mark.parametrize(("reply", "digit"), [("200 result=0", ""), ("200 result=50", "2")])
def test_say_number(reply, digit):
    channel, writer = fake_asterisk(reply)
    assert channel.say_number(1446, "12") == digit
    assert writer.getvalue() == 'SAY NUMBER "1446" "12"\n'


def test_say_number_refuses_what_is_not_a_number_before_sending():
    channel, writer = fake_asterisk("200 result=0")
    with pytest.raises(ValueError):
        channel.say_number("12; EXEC System")  # type: ignore[arg-type]
    assert writer.getvalue() == ""


def test_say_number_hang_up():
    channel, _ = fake_asterisk("200 result=-1")
    with pytest.raises(AGIHangup):
        channel.say_number(7)


@pytest.mark.parametrize(("reply", "digit"), [("200 result=0", ""), ("200 result=51", "3")])
def test_say_datetime_sends_epoch_escape_format_and_zone_in_asterisks_order(reply, digit):
    channel, writer = fake_asterisk(reply)
    pressed = channel.say_datetime(1765612800, "A B e 'digits/at' IMp", "Asia/Riyadh", "123")
    assert pressed == digit
    assert writer.getvalue() == (
        'SAY DATETIME "1765612800" "123" "A B e \'digits/at\' IMp" "Asia/Riyadh"\n'
    )


def test_say_datetime_hang_up():
    channel, _ = fake_asterisk("200 result=-1")
    with pytest.raises(AGIHangup):
        channel.say_datetime(0, "IMp", "UTC")


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("200 result=1 (3)", "3"),
        ("200 result=1 (Local/agent@tawasul-ivr-00000001;2)", "Local/agent@tawasul-ivr-00000001;2"),
        ("200 result=1 ()", ""),
        ("200 result=0", None),
    ],
)
def test_get_full_variable(reply, value):
    channel, writer = fake_asterisk(reply)
    assert channel.get_full_variable("${QUEUE_WAITING_COUNT(tawasul-riyadh)}") == value
    assert writer.getvalue() == 'GET FULL VARIABLE "${QUEUE_WAITING_COUNT(tawasul-riyadh)}"\n'
