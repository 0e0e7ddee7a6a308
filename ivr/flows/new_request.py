"""A new request: ID (read back, confirmed), duplicates, category, official, meeting, number,
message. The request exists as a partial request from the moment the ID is confirmed, so a
hang-up at any later step keeps what was collected."""

from __future__ import annotations

from ivr import variables as var
from ivr.flows.callback_number import CallbackNumber
from ivr.flows.menu import CallerGaveUp, Menu
from ivr.flows.voice_message import record_voice_message
from tawasul.errors import ValidationError
from tawasul.ids import validate_national_id
from tawasul.intake import NewRequest
from tawasul.models import MeetingMode, Request, RequesterCategory
from tawasul.spooled_recordings import NEW_REQUEST

CATEGORIES = (RequesterCategory.MAN, RequesterCategory.WOMAN, RequesterCategory.COMPANY)
"""In the order the category prompt offers them (1, 2, 3)."""
MEETING_MODES = (MeetingMode.IN_PERSON, MeetingMode.VIDEO)


class NewRequestFlow:
    """Files a request, filling it in step by step."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self.ctx = menu.ctx

    def run(self) -> None:
        """File the request, or add a message to the caller's open one.

        Raises:
            CallerGaveUp: when a question got no valid answer.
        """
        menu, intake, session = self.menu, self.ctx.intake, self.ctx.session
        national_id = self.ask_national_id()
        existing = intake.open_requests_of(session, national_id)
        if existing and self.handle_duplicate(existing[-1]):
            return
        request = intake.start_partial_request(
            session,
            NewRequest(national_id=national_id, language=menu.language, branch=menu.branch),
            menu.call,
        )
        menu.channel.set_variable(var.REFERENCE, request.reference_number)
        # The answers are held in memory and written with the filing, the one commit between
        # here and the reference read back: every commit on the way is a wait for SQLite's one
        # write lock between two of the caller's keys (bench/calls.py). A caller who hangs up
        # keeps them all the same (IntakeService.close_call writes them with the end of the
        # call); only a server killed meanwhile loses them, never the partial request
        # (committed above) nor a voice message (the next server settles the spool).
        category = menu.choose_one_of("choose_category", CATEGORIES, "category")
        intake.fill_in(session, request, category=category, commit=False)
        officials = self.ctx.settings.officials
        official = menu.choose_one_of(
            "choose_official", officials, "official", lambda key: f"official.{key}"
        )
        intake.fill_in(session, request, target_official=official, commit=False)
        mode = menu.choose_one_of("choose_meeting_mode", MEETING_MODES, "meeting_mode")
        if mode == MeetingMode.IN_PERSON:
            branches = self.ctx.settings.branches
            branch = menu.choose_one_of(
                "choose_branch", branches, "branch", lambda key: f"branch.{key}"
            )
            intake.fill_in(session, request, meeting_mode=mode, branch=branch, commit=False)
        else:
            intake.fill_in(session, request, meeting_mode=mode, commit=False)
        number = CallbackNumber(menu).ask()
        intake.fill_in(session, request, callback_number=number, commit=False)
        path = record_voice_message(menu, NEW_REQUEST, partial=request)
        intake.fill_in(session, request, voice_message_path=path, commit=False)
        intake.complete_request(session, request, menu.call)
        menu.play("request_saved", "your_reference_is")
        menu.channel.say_digits(request.reference_number)
        menu.play("repeat_reference")
        menu.channel.say_digits(request.reference_number)
        menu.offer_agent()

    def ask_national_id(self) -> str:
        """Ten digits with a valid check digit, read back and confirmed.

        Raises:
            CallerGaveUp: when no valid ID was confirmed.
        """
        menu = self.menu
        for _ in range(self.ctx.settings.input_attempts):
            digits = menu.ask_digits("enter_national_id", 10, "national_id", national_id_problem)
            if menu.confirm_digits(digits, "confirm_or_reenter", "national_id_confirm"):
                return digits
        raise CallerGaveUp("national_id")

    def handle_duplicate(self, request: Request) -> bool:
        """Say the open request's reference; True when the caller added a message to it.

        Raises:
            CallerGaveUp: when the caller chose neither option.
        """
        menu = self.menu
        menu.step("duplicate_found")
        menu.play("duplicate_request")
        menu.channel.say_digits(request.reference_number)
        if menu.choose("duplicate_options", "12", "duplicate_choice") == "2":
            return False
        path = record_voice_message(menu, "added")
        if path is not None:
            self.ctx.intake.add_voice_message(self.ctx.session, request, path, menu.call)
        self.ctx.intake.link_call(self.ctx.session, menu.call, request, "added_to_existing")
        menu.play("your_reference_is")
        menu.channel.say_digits(request.reference_number)
        menu.offer_agent()
        return True


def national_id_problem(digits: str) -> str | None:
    """The prompt for a typed national ID that is not valid (length, check digit), or None."""
    try:
        validate_national_id(digits)
    except ValidationError:
        return "invalid_national_id"
    return None
