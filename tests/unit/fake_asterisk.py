"""A scripted Asterisk for running the phone menu's flows without Asterisk (unit tests).

It answers the AGI commands the flows send: a key pressed during a named prompt, digits typed
at a GET DATA, a recording written where Asterisk would write it, and a hang-up at a chosen
command. Every command sent is kept, in order, with the prompt it played.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ivr.agi import AGIResponse, Channel
from ivr.paths import host_path
from ivr.prompts import SOUND_PREFIX
from tawasul.config import Settings
from tests.helpers import unfinished_wav


def wav(seconds: float) -> bytes:
    """A canonical 8 kHz mono 16-bit WAV whose sizes are still zero, as Asterisk leaves the
    file until it closes it."""
    return unfinished_wav(b"\x01\x00" * int(8000 * seconds))


class FakeAsterisk(Channel):
    """One call's Asterisk side, answering from a script.

    ``keys`` maps a prompt key (``"main_menu"``) to the answers given the times it plays, in
    order: one key for a STREAM FILE, digits for a GET DATA. ``hang_up_at`` is a prompt key or
    a command word at which the caller hangs up; ``during`` is called with each prompt key
    before it is answered (to act while the caller sits at it); ``takes`` are the seconds of
    audio of each recording.
    """

    def __init__(
        self,
        settings: Settings,
        keys: dict[str, list[str]],
        hang_up_at: str = "",
        caller_id: str = "0501234567",
        uniqueid: str = "1732761234.42",
        during: Callable[[str], None] | None = None,
        takes: list[float] | None = None,
    ) -> None:
        self.env = {"agi_uniqueid": uniqueid, "agi_callerid": caller_id}
        self.settings = settings
        self.keys = {prompt: list(answers) for prompt, answers in keys.items()}
        self.hang_up_at = hang_up_at
        self.during = during
        self.takes = list(takes or [])
        """Seconds of audio of each recording, in order (then 3 s each); 0: # pressed at once."""
        self.sent: list[tuple[str, str]] = []
        self.hung_up = False

    def transmit(self, command: str, *arguments: object) -> AGIResponse:
        """Answer one command as the scripted caller and Asterisk would."""
        if self.hung_up:
            return AGIResponse(-1)
        prompt = str(arguments[0]).removeprefix(SOUND_PREFIX + "/") if arguments else ""
        self.sent.append((command, prompt))
        if self.during is not None:
            self.during(prompt)
        if command == "RECORD FILE":
            path = host_path(self.settings, f"{arguments[0]}.{arguments[1]}")
            path.parent.mkdir(parents=True, exist_ok=True)
            seconds = self.takes.pop(0) if self.takes else 3.0
            path.write_bytes(wav(seconds))
            end = {"endpos": str(int(8000 * seconds))}
            if self.hang_up_at == command:
                self.hung_up = True
                return AGIResponse(-1, "hangup", end, "-1")
            return AGIResponse(ord("#"), "dtmf", end, "35")
        if self.hang_up_at in (command, prompt):
            self.hung_up = True
            return AGIResponse(-1)
        answers = self.keys.get(prompt)
        answer = answers.pop(0) if answers else ""
        if command == "GET DATA":
            return AGIResponse(int(answer or "0"), None if answer else "timeout", {}, answer)
        if command in ("STREAM FILE", "SAY DIGITS", "SAY DATETIME") and answer:
            return AGIResponse(ord(answer))
        if command == "GET VARIABLE":
            return AGIResponse(0)
        return AGIResponse(0 if command != "SET VARIABLE" else 1)

    def spooled(self) -> list[Path]:
        """Files left in Asterisk's spool directory."""
        spool = host_path(self.settings, "/var/spool/asterisk/tawasul")
        return sorted(spool.iterdir()) if spool.exists() else []

    def played(self) -> list[str]:
        """The prompts played, in order."""
        return [prompt for command, prompt in self.sent if command == "STREAM FILE"]
