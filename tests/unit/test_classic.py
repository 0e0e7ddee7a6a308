"""Classic process-per-call AGI: Pyst2Channel over a real pyst2 AGI object on StringIO pipes."""

from __future__ import annotations

import io
import os
import signal

import pytest
from asterisk import agi as pyst2

from ivr.agi import AGIArgumentError, AGICommandError, AGIHangup, DigitsInput
from ivr.classic import Pyst2Channel

ENV_BLOCK = (
    "agi_request: tawasul-agi\n"
    "agi_channel: PJSIP/caller-00000001\n"
    "agi_language: ar\n"
    "agi_uniqueid: 1732761234.42\n"
    "agi_callerid: 0501234567\n"
    "agi_arg_1: intake\n"
    "\n"
)


@pytest.fixture(autouse=True)
def restore_sighup():
    """pyst2's AGI() installs a SIGHUP handler; put the previous one back after each test."""
    previous = signal.getsignal(signal.SIGHUP)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


def fake_asterisk(*replies: str) -> tuple[Pyst2Channel, io.StringIO, pyst2.AGI]:
    stdin = io.StringIO(ENV_BLOCK + "".join(reply + "\n" for reply in replies))
    stdout = io.StringIO()
    agi = pyst2.AGI(stdin=stdin, stdout=stdout, stderr=io.StringIO())
    return Pyst2Channel(agi), stdout, agi


def test_environment_comes_from_pyst2():
    channel, stdout, _ = fake_asterisk()
    assert channel.uniqueid == "1732761234.42"
    assert channel.caller_id == "0501234567"
    assert channel.arguments == ["intake"]
    assert stdout.getvalue() == ""


def test_set_variable_sends_our_escaped_quoting():
    channel, stdout, _ = fake_asterisk("200 result=1")
    channel.set_variable("TAWASUL_NOTE", 'he said "hi" \\ bye')
    # pyst2 alone would send "he said "hi" \ bye", which Asterisk splits into several arguments.
    assert stdout.getvalue() == 'SET VARIABLE "TAWASUL_NOTE" "he said \\"hi\\" \\\\ bye"\n'


def test_get_data_keeps_leading_zeros():
    channel, stdout, _ = fake_asterisk("200 result=0123456789")
    assert channel.get_data("custom/enter-id", 6000, 10) == DigitsInput("0123456789", False)
    assert stdout.getvalue() == 'GET DATA "custom/enter-id" "6000" "10"\n'


def test_get_data_digits_then_timeout():
    channel, _, _ = fake_asterisk("200 result=12 (timeout)")
    assert channel.get_data("x", 6000, 10) == DigitsInput("12", True)


def test_stream_file_returns_the_interrupting_digit():
    channel, stdout, _ = fake_asterisk("200 result=49 endpos=1234", "200 result=0 endpos=96000")
    assert channel.stream_file("custom/welcome", "12") == "1"
    assert channel.stream_file("custom/welcome", "12") == ""
    assert stdout.getvalue() == 'STREAM FILE "custom/welcome" "12"\n' * 2


def test_get_variable_with_spaces():
    channel, _, _ = fake_asterisk("200 result=1 (Riyadh main branch)", "200 result=0")
    assert channel.get_variable("TAWASUL_BRANCH") == "Riyadh main branch"
    assert channel.get_variable("UNSET") is None


def test_minus_one_is_a_hangup():
    channel, stdout, _ = fake_asterisk("200 result=-1")
    with pytest.raises(AGIHangup):
        channel.answer()
    assert stdout.getvalue() == "ANSWER\n"


def test_sighup_from_asterisk_is_a_hangup_before_anything_is_sent():
    channel, stdout, _ = fake_asterisk("200 result=0")
    os.kill(os.getpid(), signal.SIGHUP)  # what Asterisk sends a classic AGI on hang-up
    with pytest.raises(AGIHangup):
        channel.answer()
    assert stdout.getvalue() == ""


def test_broken_pipe_is_a_hangup():
    class BrokenStdout(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    stdin = io.StringIO("agi_request: classic\n\n200 result=0\n")
    agi = pyst2.AGI(stdin=stdin, stdout=BrokenStdout(), stderr=io.StringIO())
    channel = Pyst2Channel(agi)
    with pytest.raises(AGIHangup):
        channel.answer()


def test_unknown_command_is_a_command_error():
    channel, _, _ = fake_asterisk("510 Invalid or unknown command")
    with pytest.raises(AGICommandError) as err:
        channel.execute("NO SUCH THING")
    assert err.value.code == 510


def test_usage_error_is_a_command_error():
    channel, _, _ = fake_asterisk(
        "520-Invalid command syntax.  Proper usage follows:",
        " Usage: GET DATA <file to be streamed> [timeout] [maxdigits]",
        "520 End of proper usage.",
        "200 result=0",
    )
    with pytest.raises(AGICommandError) as err:
        channel.execute("GET DATA")
    assert err.value.code == 520
    channel.answer()  # the usage block was consumed


def test_bad_argument_is_refused_before_anything_is_sent():
    channel, stdout, _ = fake_asterisk("200 result=1")
    with pytest.raises(AGIArgumentError):
        channel.set_variable("X", "1\nEXEC System reboot")
    assert stdout.getvalue() == ""


def test_dead_channel_reply_is_a_hangup():
    channel, _, _ = fake_asterisk(
        "511 Command Not Permitted on a dead channel or intercept routine"
    )
    with pytest.raises(AGIHangup):
        channel.answer()


def test_eof_is_a_hangup():
    channel, _, _ = fake_asterisk()
    with pytest.raises(AGIHangup):
        channel.answer()


def test_get_data_timeout_without_digits():
    channel, _, _ = fake_asterisk("200 result= (timeout)")
    assert channel.get_data("x", 6000, 10) == DigitsInput("", True)
