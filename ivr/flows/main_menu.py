"""The start of every call: recording notice, language, the branch's hours, the main menu."""

from __future__ import annotations

from ivr import speech
from ivr import variables as var
from ivr.flows.callback_number import book_closed_callback
from ivr.flows.follow_up import FollowUpFlow
from ivr.flows.menu import Menu
from ivr.flows.new_request import NewRequestFlow
from ivr.prompts import sound
from tawasul.hours import WorkingHours
from tawasul.models import Language, utcnow

LANGUAGE_TIMEOUT_MS = 5000
MAIN_MENU_KEYS = "123"


def welcome(menu: Menu) -> str:
    """Notice, language, branch and its hours; return a main-menu key pressed while the
    closed-hours announcement played (the caller who knows the menu is never kept waiting,
    and no key is lost), or ''."""
    settings = menu.ctx.settings
    menu.language = choose_language(menu)
    branch = menu.channel.get_variable(var.BRANCH) or settings.default_branch
    menu.branch = branch if branch in settings.branches else settings.default_branch
    menu.hours = WorkingHours.for_branch(settings, menu.branch)
    now = utcnow()
    menu.open_now = menu.hours.is_open(now)
    if menu.open_now:
        return ""
    menu.step("out_of_hours", menu.branch)
    keys = MAIN_MENU_KEYS + "9"
    pressed = menu.channel.stream_file(sound("out_of_hours"), keys)
    if not pressed:
        back = menu.hours.next_opening(now)
        pressed = speech.say_moment(menu.channel, menu.language, back, settings.timezone, keys)
    return "" if pressed == "9" else pressed


def choose_language(menu: Menu) -> Language:
    """Recording notice, then 1 for Arabic, 2 for English; Arabic on silence."""
    language = Language.AR
    digit = menu.channel.stream_file(sound("recording_notice"), "12")
    for _ in range(menu.ctx.settings.input_attempts):
        if not digit:
            digit = menu.channel.get_data(sound("choose_language"), LANGUAGE_TIMEOUT_MS, 1).digits
        if digit == "2":
            language = Language.EN
            break
        if digit in ("1", ""):
            break
        digit = ""
    menu.channel.set_variable(var.LANGUAGE, language.value)
    # With the journey, at the call's next commit: one write fewer between two of the caller's
    # keys (on SQLite every write queues for the one write lock, bench/calls.py).
    menu.ctx.intake.set_language(menu.ctx.session, menu.call, language, commit=False)
    return language


def main_menu(menu: Menu, early: str = "") -> None:
    """1 new request, 2 follow-up, 3 agent (a callback out of hours), 9 repeat.

    Raises:
        CallerGaveUp: when a question got no valid answer.
    """
    prompt = "main_menu" if menu.open_now else "main_menu_closed"
    choice = menu.choose(prompt, MAIN_MENU_KEYS, "main_menu", early=early)
    if choice == "1":
        NewRequestFlow(menu).run()
    elif choice == "2":
        FollowUpFlow(menu).run()
    elif menu.open_now:
        menu.to_agent()
    else:
        book_closed_callback(menu)


def gave_up(menu: Menu) -> None:
    """Three failures: an agent in hours, a callback when the centre is closed.

    Raises:
        CallerGaveUp: out of hours, when no number to call back could be had.
    """
    menu.play("too_many_attempts")
    if menu.open_now:
        menu.to_agent()
    else:
        book_closed_callback(menu)
