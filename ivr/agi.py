"""The AGI protocol: environment, commands, responses, hang-up, and argument escaping.

Only protocol lives here. A :class:`Channel` offers the AGI commands the call flows use; two
transports implement it: :class:`StreamChannel` (FastAGI over a socket) and, in ``ivr.classic``,
pyst2's process-per-call AGI on stdin/stdout. The flows never see which one they talk to.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

log = logging.getLogger(__name__)

MAX_LINE = 8192
"""Longest line accepted from Asterisk; a longer one is a protocol error, not a memory leak."""
MAX_ENV_LINES = 256


class AGIError(Exception):
    """Base of every AGI failure."""


class AGIProtocolError(AGIError):
    """Asterisk sent something that is not AGI (or an unexpected reply)."""


class AGIHangup(AGIError):
    """The caller hung up, or the channel died, while a command ran."""


class AGICommandError(AGIError):
    """Asterisk refused the command (510 unknown, 511 dead channel, 520 bad usage)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code


class AGIArgumentError(AGIError, ValueError):
    """A value cannot be sent as an AGI argument (it holds a line break or a NUL)."""


@dataclass(frozen=True)
class AGIResponse:
    """A parsed ``200 result=N (data) key=value`` reply."""

    result: int
    data: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    raw_result: str = ""
    """The result as sent: GET DATA puts the typed digits there, leading zeros included."""


_FORBIDDEN = re.compile(r"[\r\n\x00]")
_INTEGER = re.compile(r"-?[0-9]+")
_COMMAND_WORD = re.compile(r"[A-Z][A-Z ]*[A-Z]")


def quote(argument: object) -> str:
    """Quote one argument so Asterisk reads it back as exactly one argument, whatever it holds.

    res_agi splits a command line on spaces outside double quotes and takes a backslash as
    "the next character is literal", so backslashes and quotes are escaped and the whole is
    quoted. A line break would end the command and start another: that is refused outright.

    Raises:
        AGIArgumentError: for a value with CR, LF or NUL.
    """
    text = str(argument)
    if _FORBIDDEN.search(text):
        raise AGIArgumentError("an AGI argument may not contain CR, LF or NUL")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(command: str, *arguments: object) -> str:
    """Return the command line (with its newline) for a command word and its arguments."""
    if not _COMMAND_WORD.fullmatch(command):
        raise AGIArgumentError(f"not an AGI command word: {command!r}")
    return " ".join([command, *(quote(a) for a in arguments)]) + "\n"


def parse_environment(lines: Iterable[str]) -> dict[str, str]:
    """Parse the ``agi_name: value`` lines Asterisk sends first (without the blank line).

    Raises:
        AGIProtocolError: for a line that is not ``agi_<name>: <value>``.
    """
    env: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(": ")
        if not sep:
            name, sep, value = line.partition(":")
        if not sep or not name.startswith("agi_"):
            raise AGIProtocolError(f"bad AGI environment line: {line[:80]!r}")
        env[name] = value
    return env


def parse_response(line: str) -> AGIResponse:
    """Parse the first line of a reply.

    Raises:
        AGICommandError: for a 5xx reply (the 520 usage text is read by the transport).
        AGIProtocolError: for anything that is not an AGI reply.
    """
    code_text, _, rest = line.partition(" ")
    if len(code_text) == 3 and code_text.isascii() and code_text.isdigit():
        code = int(code_text)
    elif (
        len(code_text) == 4
        and code_text[:3].isascii()
        and code_text[:3].isdigit()
        and code_text[3] == "-"
    ):
        code = int(code_text[:3])
    else:
        raise AGIProtocolError(f"not an AGI reply: {line[:80]!r}")
    if code == 200:
        if not rest.startswith("result="):
            raise AGIProtocolError(f"bad 200 reply: {line[:80]!r}")
        raw, _, tail = rest[len("result=") :].partition(" ")
        data = None
        if tail.startswith("("):
            # The data may hold spaces and parentheses of its own: it runs to the last ")".
            end = tail.rfind(")")
            if end < 0:
                raise AGIProtocolError(f"unclosed data in reply: {line[:80]!r}")
            data, tail = tail[1:end], tail[end + 1 :]
        extra: dict[str, str] = {}
        for pair in tail.split():
            key, _, value = pair.partition("=")
            extra[key] = value
        result = int(raw) if _INTEGER.fullmatch(raw) else 0
        return AGIResponse(result, data, extra, raw)
    if code in (510, 511, 520):
        raise AGICommandError(code, rest)
    raise AGIProtocolError(f"unexpected AGI reply code {code}: {line[:80]!r}")


@dataclass(frozen=True)
class DigitsInput:
    """What a caller typed in answer to a prompt."""

    digits: str
    timed_out: bool


@dataclass(frozen=True)
class RecordResult:
    """How a recording ended: the digit that stopped it, Asterisk's reason, its length."""

    digit: str
    reason: str
    """"dtmf", "timeout", or "randomerror"/"writefile" on a failure."""
    end_position: int
    """Samples written (8000 a second for a wav at 8 kHz)."""


class Channel(ABC):
    """The AGI commands the call flows use, over whatever transport carries them."""

    env: dict[str, str]
    before_command: Callable[[str], None] | None = None
    """Called with the command word before each command is sent; it may refuse by raising.
    The FastAGI server checks there that no database transaction is open while Asterisk
    plays, records or waits for the caller (``ivr.guard``)."""

    def execute(self, command: str, *arguments: object) -> AGIResponse:
        """Send one command and return its reply, once ``before_command`` allows it.

        Raises:
            AGIHangup: when the channel has hung up.
            AGICommandError: when Asterisk refuses the command.
        """
        if self.before_command is not None:
            self.before_command(command)
        return self.transmit(command, *arguments)

    @abstractmethod
    def transmit(self, command: str, *arguments: object) -> AGIResponse:
        """Send one command over the transport and return its reply.

        Raises:
            AGIHangup: when the channel has hung up.
            AGICommandError: when Asterisk refuses the command.
        """

    @property
    def uniqueid(self) -> str:
        """Asterisk's unique id of the channel running the script."""
        return self.env.get("agi_uniqueid", "")

    @property
    def caller_id(self) -> str:
        """The caller's number as Asterisk sees it ("unknown" becomes empty)."""
        value = self.env.get("agi_callerid", "")
        return "" if value in ("unknown", "") else value

    @property
    def arguments(self) -> list[str]:
        """The script's arguments (``agi_arg_1``, ``agi_arg_2``...)."""
        out = []
        index = 1
        while f"agi_arg_{index}" in self.env:
            out.append(self.env[f"agi_arg_{index}"])
            index += 1
        return out

    def _checked(self, command: str, *arguments: object) -> AGIResponse:
        response = self.execute(command, *arguments)
        if response.result < 0:
            raise AGIHangup(f"{command} returned {response.result}")
        return response

    def answer(self) -> None:
        """Answer the channel."""
        self._checked("ANSWER")

    def stream_file(self, sound: str, escape_digits: str = "") -> str:
        """Play a sound; return the digit that interrupted it, or ''."""
        response = self._checked("STREAM FILE", sound, escape_digits)
        return chr(response.result) if response.result > 0 else ""

    def get_data(self, sound: str, timeout_ms: int, max_digits: int) -> DigitsInput:
        """Play a sound and collect up to ``max_digits`` digits (``#`` ends early)."""
        response = self._checked("GET DATA", sound, timeout_ms, max_digits)
        # The digits are the text of "result" ("0123" stays "0123"); "(timeout)" marks a caller
        # who stopped typing before max_digits or never started.
        digits = response.raw_result if response.result >= 0 else ""
        return DigitsInput(digits, response.data == "timeout")

    def wait_for_digit(self, timeout_ms: int) -> str:
        """Wait for one digit; return it, or '' on timeout."""
        response = self._checked("WAIT FOR DIGIT", timeout_ms)
        return chr(response.result) if response.result > 0 else ""

    def say_digits(self, digits: str, escape_digits: str = "") -> str:
        """Say each digit in the channel's language; return an interrupting digit or ''."""
        if not (digits.isascii() and digits.isdigit()):
            raise AGIArgumentError("SAY DIGITS takes ASCII digits only")
        response = self._checked("SAY DIGITS", digits, escape_digits)
        return chr(response.result) if response.result > 0 else ""

    def say_number(self, number: int, escape_digits: str = "") -> str:
        """Say a number in the channel's language (Asterisk's rules; not for Arabic)."""
        response = self._checked("SAY NUMBER", int(number), escape_digits)
        return chr(response.result) if response.result > 0 else ""

    def say_datetime(self, epoch: int, format_: str, timezone: str, escape_digits: str = "") -> str:
        """Say a moment with a SayDateTime format in a time zone (Asterisk's rules)."""
        response = self._checked("SAY DATETIME", int(epoch), escape_digits, format_, timezone)
        return chr(response.result) if response.result > 0 else ""

    def record_file(
        self,
        path: str,
        file_format: str,
        escape_digits: str,
        timeout_ms: int,
        beep: bool = True,
        silence_s: int = 0,
    ) -> RecordResult:
        """Record the caller to ``path.file_format`` (Asterisk's view) until a digit, the
        timeout or ``silence_s`` of silence; return how it ended."""
        arguments: list[object] = [path, file_format, escape_digits, timeout_ms]
        if beep:
            arguments.append("BEEP")
        if silence_s:
            arguments.append(f"s={silence_s}")
        response = self.execute("RECORD FILE", *arguments)
        # result=-1 with (hangup) is a hang-up; (dtmf) with the digit's code; (timeout).
        if response.result < 0 and response.data != "timeout":
            raise AGIHangup(f"RECORD FILE ended with {response.result} ({response.data})")
        digit = chr(response.result) if response.data == "dtmf" and response.result > 0 else ""
        return RecordResult(digit, response.data or "", int(response.extra.get("endpos", 0)))

    def get_full_variable(self, expression: str) -> str | None:
        """Evaluate a dialplan expression such as ``${QUEUE_WAITING_COUNT(q)}``."""
        response = self.execute("GET FULL VARIABLE", expression)
        return response.data if response.result == 1 else None

    def set_variable(self, name: str, value: object) -> None:
        """Set a channel variable (or a function such as ``CHANNEL(language)``)."""
        self.execute("SET VARIABLE", name, value)

    def get_variable(self, name: str) -> str | None:
        """Return a channel variable, or None when it is not set."""
        response = self.execute("GET VARIABLE", name)
        return response.data if response.result == 1 else None

    def exec_application(self, application: str, options: str = "") -> int:
        """Run a dialplan application and return its result."""
        return self._checked("EXEC", application, options).result

    def verbose(self, message: str, level: int = 1) -> None:
        """Write to the Asterisk console log."""
        self.execute("VERBOSE", message, level)


class StreamChannel(Channel):
    """A channel over a pair of text streams: a FastAGI socket, or stdin/stdout."""

    def __init__(self, reader: IO[str], writer: IO[str], env: dict[str, str] | None = None) -> None:
        self._reader = reader
        self._writer = writer
        self.hung_up = False
        self.env = parse_environment(self._read_environment()) if env is None else env

    def _read_line(self) -> str:
        line = self._reader.readline(MAX_LINE + 1)
        if not line:
            self.hung_up = True
            raise AGIHangup("connection closed by Asterisk")
        if len(line) > MAX_LINE and not line.endswith("\n"):
            raise AGIProtocolError("line too long from Asterisk")
        return line.rstrip("\r\n")

    def _read_environment(self) -> list[str]:
        lines = []
        while True:
            line = self._read_line()
            if line == "":
                return lines
            lines.append(line)
            if len(lines) > MAX_ENV_LINES:
                raise AGIProtocolError("AGI environment too long")

    def transmit(self, command: str, *arguments: object) -> AGIResponse:
        """Send one command and read its reply, noticing a HANGUP line on the way."""
        line = format_command(command, *arguments)
        if self.hung_up:
            raise AGIHangup(f"channel already hung up before {command}")
        try:
            self._writer.write(line)
            self._writer.flush()
        except OSError as exc:
            self.hung_up = True
            raise AGIHangup(f"connection lost while sending {command}") from exc
        while True:
            reply = self._read_line()
            if reply == "HANGUP":
                # FastAGI tells us of the hang-up out of band, then answers the command.
                self.hung_up = True
                continue
            break
        if reply.startswith("520-"):
            usage = []
            while not reply.startswith("520 "):
                reply = self._read_line()
                usage.append(reply)
            raise AGICommandError(520, "invalid syntax: " + " ".join(usage)[:200])
        try:
            response = parse_response(reply)
        except AGICommandError as exc:
            if exc.code == 511:
                self.hung_up = True
                raise AGIHangup(str(exc)) from exc
            raise
        if self.hung_up and response.result < 0:
            raise AGIHangup(f"{command} interrupted by hang-up")
        return response
