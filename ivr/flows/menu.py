"""One call's questions and answers: re-prompts, timeouts, the journey, and the endings.

Every question goes through :meth:`Menu.choose` or :meth:`Menu.ask_digits`: a wrong key gets a
re-prompt, silence a repeat, and after ``input_attempts`` failures :class:`CallerGaveUp` sends
the caller to an agent (or, out of hours, books a callback): nobody is hung up on. Each answer
is written to the call's journey (digits masked) as it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from ivr import speech
from ivr import variables as var
from ivr.agi import Channel
from ivr.prompts import sound
from tawasul.hours import WorkingHours
from tawasul.masking import mask_digits
from tawasul.models import Call, Language

if TYPE_CHECKING:
    # Only a type here: ivr.scripts imports the flows.
    from ivr.scripts.base import CallContext

CHOICE_TIMEOUT_MS = 5000

Option = TypeVar("Option")


class CallerGaveUp(Exception):
    """The caller gave no valid answer to one question in ``input_attempts`` tries (wrong
    keys or silence): the menu stops asking and hands them to an agent or a callback. Not
    :class:`tawasul.errors.TooManyAttempts`, the lock-out of sign-ins and identity checks."""

    def __init__(self, question: str) -> None:
        super().__init__(question)
        self.question = question


class Menu:
    """One call's questions and answers, with re-prompts, timeouts and the journey."""

    def __init__(self, channel: Channel, ctx: CallContext, call: Call) -> None:
        self.channel = channel
        self.ctx = ctx
        self.call = call
        self.language = Language.AR
        self.branch = ctx.settings.default_branch
        self.open_now = True
        self.hours: WorkingHours | None = None

    # -- primitives ------------------------------------------------------------------------

    def step(self, name: str, shown: str = "") -> None:
        """Note one step of the journey (``shown`` already masked). It is written with the
        next commit, and at the latest when the call ends: a commit per key pressed was half
        of the server's work per call (bench/calls.py) for no caller's benefit."""
        self.ctx.intake.note_step(self.call, name, shown)

    def play(self, *keys: str) -> None:
        """Play prompts in order."""
        for key in keys:
            self.channel.stream_file(sound(key))

    def choose(
        self,
        prompt: str,
        valid: str,
        step: str,
        options: Callable[[str], str] | None = None,
        early: str = "",
    ) -> str:
        """Ask for one key among ``valid``; 9 repeats when it is not an answer. ``options``
        announces the choices after the prompt (returning a key pressed meanwhile); ``early``
        is a key the caller already pressed while an earlier announcement played.

        Raises:
            CallerGaveUp: after ``input_attempts`` wrong keys or silences.
        """
        failures = 0
        while failures < self.ctx.settings.input_attempts:
            # A key pressed during what came before (``early``) answers the first time round.
            digit, early = early, ""
            if not digit:
                digit = self.channel.stream_file(sound(prompt), valid + "9")
            if not digit and options is not None:
                digit = options(valid + "9")
            if not digit:
                digit = self.channel.wait_for_digit(CHOICE_TIMEOUT_MS)
            if digit in valid and digit:
                self.step(step, digit)
                return digit
            if digit == "9":
                self.step(step + "_repeat")
                continue
            failures += 1
            self.step(step + ("_no_input" if not digit else "_invalid"), digit)
            self.play("no_input" if not digit else "invalid_choice")
        raise CallerGaveUp(step)

    def choose_one_of(
        self,
        prompt: str,
        options: Sequence[Option],
        step: str,
        spoken: Callable[[Option], str] | None = None,
    ) -> Option:
        """Ask for one of ``options`` (key 1 for the first, up to 8); 9 repeats.

        With ``spoken`` (an option's prompt key), each option is announced after ``prompt``
        as "<option>, press <n>"; without it, ``prompt`` names them all itself.

        Raises:
            CallerGaveUp: after ``input_attempts`` wrong keys or silences.
        """
        if not 1 <= len(options) <= 8:
            raise ValueError(f"{step}: a menu offers 1 to 8 options, not {len(options)}")
        keys = "".join(str(n) for n in range(1, len(options) + 1))
        announce = None
        if spoken is not None:
            say = spoken

            def announce(escape: str) -> str:
                for n, option in enumerate(options, 1):
                    pressed = speech.say_choice(self.channel, say(option), str(n), escape)
                    if pressed:
                        return pressed
                return ""

        return options[int(self.choose(prompt, keys, step, announce)) - 1]

    def ask_digits(
        self, prompt: str, count: int, step: str, check: Callable[[str], str | None]
    ) -> str:
        """Ask for ``count`` digits; ``check`` returns the invalid-entry prompt or None.

        Raises:
            CallerGaveUp: after ``input_attempts`` invalid or missing entries.
        """
        for _ in range(self.ctx.settings.input_attempts):
            entry = self.channel.get_data(sound(prompt), self.ctx.settings.digit_timeout_ms, count)
            if not entry.digits:
                self.step(step + "_no_input")
                self.play("no_input")
                continue
            problem = check(entry.digits)
            if problem is not None:
                self.step(step + "_invalid", mask_digits(entry.digits))
                self.play(problem)
                continue
            self.step(step, mask_digits(entry.digits))
            return entry.digits
        raise CallerGaveUp(step)

    def confirm_digits(
        self, digits: str, prompt: str, step: str, intro: str = "you_entered"
    ) -> bool:
        """Read ``digits`` back; True on 1 (confirm), False on 2 (enter again). The caller may
        answer during the read-back.

        Raises:
            CallerGaveUp: after ``input_attempts`` wrong keys or silences.
        """
        pressed = self.channel.stream_file(sound(intro), "12")
        if not pressed:
            pressed = self.channel.say_digits(digits, "12")
        if pressed:
            self.step(step, pressed)
            return pressed == "1"
        return self.choose(prompt, "12", step) == "1"

    # -- endings ---------------------------------------------------------------------------

    def to_agent(self) -> None:
        """Hand the caller to the branch's agent queue (the dialplan does the queueing)."""
        self.ctx.intake.send_to_agent(self.ctx.session, self.call)
        self.play("transfer_to_agent")
        self.channel.set_variable(var.NEXT, var.NEXT_AGENT)

    def goodbye(self) -> None:
        """Thank the caller; the dialplan hangs up."""
        self.play("goodbye")
        self.channel.set_variable(var.NEXT, var.NEXT_HANGUP)

    def offer_agent(self) -> None:
        """After a request is filed: 1 to stay for an agent (in hours), else goodbye."""
        if self.open_now:
            digit = self.channel.stream_file(sound("stay_for_agent"), "1")
            if not digit:
                digit = self.channel.wait_for_digit(CHOICE_TIMEOUT_MS)
            if digit == "1":
                self.to_agent()
                return
        self.goodbye()
