"""The phone menu: recording notice, language, working hours, main menu, new request, follow-up.

Every question goes through :class:`Menu`: a wrong key gets a re-prompt, silence a repeat, and
after ``input_attempts`` failures :class:`TooManyAttempts` sends the caller to an agent (or, out
of hours, books a callback): nobody is hung up on. Each answer is written to the call's journey
(digits masked) as it is given, and a new request exists as a partial request from the moment the
national ID is confirmed, so a hang-up at any step keeps what was collected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from sqlalchemy import select

from ivr import speech
from ivr import variables as var
from ivr.agi import Channel
from ivr.paths import SPOOL, host_path
from ivr.prompts import sound
from ivr.scripts.base import CallContext
from tawasul.callbacks import schedule_callback
from tawasul.errors import ConfigError, ValidationError
from tawasul.hours import WorkingHours
from tawasul.ids import is_valid_reference_number, normalize_saudi_mobile, validate_national_id
from tawasul.intake import NewRequest
from tawasul.masking import mask_digits
from tawasul.models import (
    Appointment,
    AppointmentStatus,
    Call,
    Callback,
    CallOutcome,
    Language,
    MeetingMode,
    Request,
    RequesterCategory,
    utcnow,
)
from tawasul.vault import Vault, vault_for
from tawasul.workflow import RequestStatus

log = logging.getLogger(__name__)

LANGUAGE_TIMEOUT_MS = 5000
CHOICE_TIMEOUT_MS = 5000
MAIN_MENU_KEYS = "123"
CATEGORIES = {
    "1": RequesterCategory.MAN,
    "2": RequesterCategory.WOMAN,
    "3": RequesterCategory.COMPANY,
}
STATUS_PROMPTS = {
    RequestStatus.RECEIVED: "status.received",
    RequestStatus.IN_REVIEW: "status.in_review",
    RequestStatus.IDENTITY_VERIFIED: "status.in_review",
    RequestStatus.APPROVED: "status.approved",
    RequestStatus.SCHEDULED: "status.scheduled",
    RequestStatus.REJECTED: "status.rejected",
    RequestStatus.COMPLETED: "status.completed",
    RequestStatus.CANCELLED: "status.cancelled",
    RequestStatus.NO_SHOW: "status.no_show",
}


class TooManyAttempts(Exception):
    """The caller failed the same question ``input_attempts`` times."""


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
        """Ask for one key among ``valid``; 9 repeats when it is not an answer. ``early`` is a
        key the caller already pressed while an earlier announcement played.

        Raises:
            TooManyAttempts: after ``input_attempts`` wrong keys or silences.
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
        raise TooManyAttempts(step)

    def ask_digits(
        self, prompt: str, count: int, step: str, check: Callable[[str], str | None]
    ) -> str:
        """Ask for ``count`` digits; ``check`` returns the invalid-entry prompt or None.

        Raises:
            TooManyAttempts: after ``input_attempts`` invalid or missing entries.
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
        raise TooManyAttempts(step)

    def confirm_digits(
        self, digits: str, prompt: str, step: str, intro: str = "you_entered"
    ) -> bool:
        """Read ``digits`` back; True on 1 (confirm), False on 2 (enter again). The caller may
        answer during the read-back."""
        pressed = self.channel.stream_file(sound(intro), "12")
        if not pressed:
            pressed = self.channel.say_digits(digits, "12")
        if pressed:
            self.step(step, pressed)
            return pressed == "1"
        return self.choose(prompt, "12", step) == "1"

    # -- the call --------------------------------------------------------------------------

    def start(self) -> str:
        """Notice, language, branch and its hours; return a main-menu key pressed while the
        closed-hours announcement played (the caller who knows the menu is never kept
        waiting, and no key is lost), or ''."""
        self.language = self.choose_language()
        branch = self.channel.get_variable(var.BRANCH) or self.ctx.settings.default_branch
        self.branch = (
            branch if branch in self.ctx.settings.branches else self.ctx.settings.default_branch
        )
        self.hours = WorkingHours.for_branch(self.ctx.settings, self.branch)
        now = utcnow()
        self.open_now = self.hours.is_open(now)
        if self.open_now:
            return ""
        self.step("out_of_hours", self.branch)
        keys = MAIN_MENU_KEYS + "9"
        pressed = self.channel.stream_file(sound("out_of_hours"), keys)
        if not pressed:
            back = self.hours.next_opening(now)
            pressed = speech.say_moment(
                self.channel, self.language, back, self.ctx.settings.timezone, keys
            )
        return "" if pressed == "9" else pressed

    def choose_language(self) -> Language:
        """Recording notice, then 1 for Arabic, 2 for English; Arabic on silence."""
        language = Language.AR
        digit = self.channel.stream_file(sound("recording_notice"), "12")
        for _ in range(self.ctx.settings.input_attempts):
            if not digit:
                digit = self.channel.get_data(
                    sound("choose_language"), LANGUAGE_TIMEOUT_MS, 1
                ).digits
            if digit == "2":
                language = Language.EN
                break
            if digit in ("1", ""):
                break
            digit = ""
        self.channel.set_variable(var.LANGUAGE, language.value)
        self.ctx.intake.set_language(self.ctx.session, self.call, language)
        return language

    def main_menu(self, early: str = "") -> None:
        """1 new request, 2 follow-up, 3 agent (a callback out of hours), 9 repeat."""
        prompt = "main_menu" if self.open_now else "main_menu_closed"
        choice = self.choose(prompt, MAIN_MENU_KEYS, "main_menu", early=early)
        if choice == "1":
            NewRequestFlow(self).run()
        elif choice == "2":
            FollowUpFlow(self).run()
        elif self.open_now:
            self.to_agent()
        else:
            self.book_closed_callback()

    # -- endings ---------------------------------------------------------------------------

    def to_agent(self) -> None:
        """Hand the caller to the branch's agent queue (the dialplan does the queueing)."""
        self.step("to_agent")
        if self.call.outcome == CallOutcome.IN_PROGRESS:
            self.call.outcome = CallOutcome.SENT_TO_AGENT
        self.ctx.session.commit()
        self.play("transfer_to_agent")
        self.channel.set_variable(var.NEXT, var.NEXT_AGENT)

    def gave_up(self) -> None:
        """Three failures: an agent in hours, a callback when the centre is closed."""
        self.play("too_many_attempts")
        if self.open_now:
            self.to_agent()
        else:
            self.book_closed_callback()

    def book_closed_callback(self) -> None:
        """Out of hours: book a callback for when the branch opens (never a dead end)."""
        number = CallbackNumber(self).ask()
        assert self.hours is not None
        due = self.hours.next_opening(utcnow())
        schedule_callback(
            self.ctx.session,
            Callback(
                request_id=self.call.request_id,
                call_id=self.call.id,
                number=number,
                branch=self.branch,
                queued_at=utcnow(),
                due_at=due,
                max_attempts=self.ctx.settings.callback_max_attempts,
            ),
        )
        self.ctx.intake.note_step(self.call, "callback_booked")
        self.ctx.session.commit()
        self.play("callback_booked_closed", "goodbye")
        self.channel.set_variable(var.NEXT, var.NEXT_HANGUP)

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

    # -- voice messages --------------------------------------------------------------------

    def record_voice_message(self, name: str) -> str | None:
        """Record, offer listen / re-record / save; return the stored path (relative to the
        var directory), or None when nothing could be recorded."""
        settings = self.ctx.settings
        try:
            vault = vault_for(settings)
        except ConfigError:
            # Fail closed: without a key to encrypt it, nothing is recorded at all.
            log.error("no storage key: voice message of %s refused", self.call.uniqueid)
            self.step("voice_message_refused")
            self.play("message_not_kept")
            return None
        asterisk_base = SPOOL / f"{self.call.uniqueid}-{name}"
        for take in range(1, settings.input_attempts + 1):
            self.play("record_message")
            result = self.channel.record_file(
                str(asterisk_base), "wav", "#", settings.voice_message_max_s * 1000
            )
            self.step("voice_message_recorded", f"{result.end_position / 8000:.1f}s")
            recorded = host_path(settings, str(asterisk_base) + ".wav")
            if not recorded.exists():
                self.play("message_empty")
                continue
            while True:
                choice = self.choose("message_menu", "123", "voice_message_menu")
                if choice == "1":
                    self.channel.stream_file(str(asterisk_base))
                    continue
                break
            if choice == "2":
                continue
            stored = self._keep(vault, recorded, name, take)
            self.play("message_saved")
            return stored
        return None

    def _keep(self, vault: Vault, recorded: Path, name: str, take: int) -> str:
        relative = PurePosixPath("voice") / f"{self.call.uniqueid}-{name}-{take}.wav"
        vault.write(str(relative), recorded.read_bytes())  # encrypted at rest
        try:
            recorded.unlink()
        except OSError as exc:
            log.warning("could not remove the spooled recording of %s: %s", self.call.uniqueid, exc)
        return str(relative)


class CallbackNumber:
    """The number to call back: the caller ID if it is a Saudi mobile (confirmed), or typed."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu

    def ask(self) -> str:
        """Return the confirmed number in E.164.

        Raises:
            TooManyAttempts: when no valid number could be had.
        """
        menu = self.menu
        caller = saudi_mobile_or_none(menu.channel.caller_id)
        if caller is not None:
            confirmed = menu.confirm_digits(
                "0" + caller[4:],
                "confirm_or_other_number",
                "callback_number_confirm",
                intro="callback_number_is",
            )
            if confirmed:
                menu.step("callback_number", "caller_id")
                return caller
        for _ in range(menu.ctx.settings.input_attempts):
            typed = menu.ask_digits("enter_mobile", 10, "callback_number_typed", _mobile_problem)
            if menu.confirm_digits(typed, "confirm_or_reenter", "callback_number_typed_confirm"):
                return normalize_saudi_mobile(typed)
        raise TooManyAttempts("callback_number")


def _mobile_problem(digits: str) -> str | None:
    if len(digits) != 10 or not digits.startswith("05"):
        return "invalid_mobile"
    try:
        normalize_saudi_mobile(digits)
    except ValidationError:
        return "invalid_mobile"
    return None


def _national_id_problem(digits: str) -> str | None:
    try:
        validate_national_id(digits)
    except ValidationError:
        return "invalid_national_id"
    return None


class NewRequestFlow:
    """ID (read back, confirmed), duplicates, category, official, meeting, number, message."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self.ctx = menu.ctx

    def run(self) -> None:
        """File the request, filling it in step by step."""
        menu = self.menu
        national_id = self.ask_national_id()
        existing = self.ctx.intake.open_requests_of(self.ctx.session, national_id)
        if existing and self.handle_duplicate(existing[-1]):
            return
        request = self.ctx.intake.start_partial_request(
            self.ctx.session,
            NewRequest(national_id=national_id, language=menu.language, branch=menu.branch),
            menu.call,
        )
        menu.channel.set_variable(var.REFERENCE, request.reference_number)
        request.category = CATEGORIES[menu.choose("choose_category", "123", "category")]
        self.ctx.session.commit()
        request.target_official = self.ask_official()
        self.ctx.session.commit()
        mode = menu.choose("choose_meeting_mode", "12", "meeting_mode")
        request.meeting_mode = MeetingMode.IN_PERSON if mode == "1" else MeetingMode.VIDEO
        if request.meeting_mode == MeetingMode.IN_PERSON:
            request.branch = self.ask_branch()
        self.ctx.session.commit()
        request.callback_number = CallbackNumber(menu).ask()
        self.ctx.session.commit()
        request.voice_message_path = menu.record_voice_message("request")
        self.ctx.session.commit()
        self.ctx.intake.complete_request(self.ctx.session, request, menu.call)
        menu.play("request_saved", "your_reference_is")
        menu.channel.say_digits(request.reference_number)
        menu.play("repeat_reference")
        menu.channel.say_digits(request.reference_number)
        menu.offer_agent()

    def ask_national_id(self) -> str:
        """Ten digits with a valid check digit, read back and confirmed."""
        menu = self.menu
        for _ in range(self.ctx.settings.input_attempts):
            digits = menu.ask_digits("enter_national_id", 10, "national_id", _national_id_problem)
            if menu.confirm_digits(digits, "confirm_or_reenter", "national_id_confirm"):
                return digits
        raise TooManyAttempts("national_id")

    def handle_duplicate(self, request: Request) -> bool:
        """Say the open request's reference; True when the caller added a message to it."""
        menu = self.menu
        menu.step("duplicate_found")
        menu.play("duplicate_request")
        menu.channel.say_digits(request.reference_number)
        if menu.choose("duplicate_options", "12", "duplicate_choice") == "2":
            return False
        path = menu.record_voice_message("added")
        if path is not None:
            self.ctx.intake.add_voice_message(self.ctx.session, request, path, menu.call)
        menu.call.request_id = request.id
        menu.step("added_to_existing")
        self.ctx.session.commit()
        menu.play("your_reference_is")
        menu.channel.say_digits(request.reference_number)
        menu.offer_agent()
        return True

    def ask_official(self) -> str:
        """The official to meet, from the configured list."""
        officials = self.ctx.settings.officials
        digits = "".join(str(n) for n in range(1, len(officials) + 1))

        def options(escape: str) -> str:
            for n, official in enumerate(officials, 1):
                pressed = speech.say_choice(
                    self.menu.channel, f"official.{official}", str(n), escape
                )
                if pressed:
                    return pressed
            return ""

        choice = self.menu.choose("choose_official", digits, "official", options)
        return officials[int(choice) - 1]

    def ask_branch(self) -> str:
        """The branch for an in-person meeting, from the configured list."""
        branches = self.ctx.settings.branches
        digits = "".join(str(n) for n in range(1, len(branches) + 1))

        def options(escape: str) -> str:
            for n, branch in enumerate(branches, 1):
                pressed = speech.say_choice(self.menu.channel, f"branch.{branch}", str(n), escape)
                if pressed:
                    return pressed
            return ""

        choice = self.menu.choose("choose_branch", digits, "branch", options)
        return branches[int(choice) - 1]


class FollowUpFlow:
    """Reference number, last four ID digits, then the status in the caller's language."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self.ctx = menu.ctx

    def run(self) -> None:
        """Find the request (both must match), say its status, offer a message or an agent."""
        menu = self.menu
        request = None
        for _ in range(self.ctx.settings.input_attempts):
            reference = menu.ask_digits(
                "enter_reference",
                9,
                "reference",
                lambda d: None if is_valid_reference_number(d) else "invalid_reference",
            )
            last4 = menu.ask_digits("enter_id_last4", 4, "id_last4", lambda d: None)
            request = self.ctx.intake.find_for_follow_up(self.ctx.session, reference, last4)
            if request is not None:
                break
            menu.step("follow_up_no_match")
            menu.play("follow_up_no_match")
        if request is None:
            raise TooManyAttempts("follow_up")
        menu.call.request_id = request.id
        menu.step("status_told", request.status.value)
        self.ctx.session.commit()
        self.say_status(request)
        digit = menu.channel.stream_file(sound("follow_up_options"), "12")
        if not digit:
            digit = menu.channel.wait_for_digit(CHOICE_TIMEOUT_MS)
        if digit == "1":
            menu.step("follow_up_message")
            path = menu.record_voice_message("follow-up")
            if path is not None:
                self.ctx.intake.add_voice_message(self.ctx.session, request, path, menu.call)
            menu.goodbye()
        elif digit == "2":
            menu.to_agent()
        else:
            menu.goodbye()

    def say_status(self, request: Request) -> None:
        """The status prompt; an appointment's day and time when one is booked."""
        menu = self.menu
        menu.play(STATUS_PROMPTS[request.status])
        if request.status != RequestStatus.SCHEDULED:
            return
        appointment = self.ctx.session.scalar(
            select(Appointment)
            .where(Appointment.request_id == request.id)
            .where(
                Appointment.status.in_([AppointmentStatus.BOOKED, AppointmentStatus.RESCHEDULED])
            )
            .order_by(Appointment.id.desc())
        )
        if appointment is None:
            return
        assert menu.hours is not None
        local = appointment.slot.starts_at.astimezone(menu.hours.zone)
        speech.say_moment(menu.channel, menu.language, local, self.ctx.settings.timezone)


def saudi_mobile_or_none(caller_id: str) -> str | None:
    """The caller ID in E.164 if it is a Saudi mobile number (SMS can reach it), else None."""
    try:
        return normalize_saudi_mobile(caller_id) if caller_id else None
    except ValidationError:
        return None


def run(channel: Channel, ctx: CallContext) -> None:
    """The whole phone menu for one call."""
    call = ctx.intake.open_call(ctx.session, channel.uniqueid, channel.caller_id)
    ctx.call = call
    menu = Menu(channel, ctx, call)
    early = menu.start()
    try:
        menu.main_menu(early)
    except TooManyAttempts as exc:
        log.info("call %s: too many attempts at %s", call.uniqueid, exc)
        menu.step("too_many_attempts", str(exc))
        try:
            menu.gave_up()
        except TooManyAttempts:
            # Out of hours and no number to call back: the queue's apology is all that is left.
            menu.to_agent()
