"""The number to call back, and the callback booked when the centre is closed."""

from __future__ import annotations

from ivr import variables as var
from ivr.flows.menu import CallerGaveUp, Menu
from tawasul.errors import ValidationError
from tawasul.ids import normalize_saudi_mobile
from tawasul.models import utcnow


class CallbackNumber:
    """The number to call back: the caller ID if it is a Saudi mobile (confirmed), or typed."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu

    def ask(self) -> str:
        """Return the confirmed number in E.164.

        Raises:
            CallerGaveUp: when no valid number could be had.
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
            typed = menu.ask_digits("enter_mobile", 10, "callback_number_typed", mobile_problem)
            if menu.confirm_digits(typed, "confirm_or_reenter", "callback_number_typed_confirm"):
                return normalize_saudi_mobile(typed)
        raise CallerGaveUp("callback_number")


def book_closed_callback(menu: Menu) -> None:
    """Out of hours: book a callback for when the branch opens (never a dead end).

    Raises:
        CallerGaveUp: when no valid number could be had.
    """
    number = CallbackNumber(menu).ask()
    assert menu.hours is not None
    menu.ctx.intake.book_callback(
        menu.ctx.session,
        menu.call,
        number,
        menu.branch,
        menu.hours.next_opening(utcnow()),
        menu.ctx.settings.callback_max_attempts,
    )
    menu.play("callback_booked_closed", "goodbye")
    menu.channel.set_variable(var.NEXT, var.NEXT_HANGUP)


def mobile_problem(digits: str) -> str | None:
    """The prompt for a typed number that is not a Saudi mobile (05XXXXXXXX), or None."""
    if len(digits) != 10 or not digits.startswith("05"):
        return "invalid_mobile"
    try:
        normalize_saudi_mobile(digits)
    except ValidationError:
        return "invalid_mobile"
    return None


def saudi_mobile_or_none(caller_id: str) -> str | None:
    """The caller ID in E.164 if it is a Saudi mobile number (SMS can reach it), else None."""
    try:
        return normalize_saudi_mobile(caller_id) if caller_id else None
    except ValidationError:
        return None
