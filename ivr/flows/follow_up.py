"""A follow-up: reference number, last four ID digits, then the status in the caller's language,
and a message or an agent."""

from __future__ import annotations

from ivr import speech
from ivr.flows.menu import CHOICE_TIMEOUT_MS, CallerGaveUp, Menu
from ivr.flows.voice_message import record_voice_message
from ivr.prompts import sound
from tawasul.ids import is_valid_reference_number
from tawasul.models import Request
from tawasul.workflow import RequestStatus

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


class FollowUpFlow:
    """Finds the caller's request (both answers must match) and tells its status."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self.ctx = menu.ctx

    def run(self) -> None:
        """Find the request, say its status, offer a message or an agent.

        Raises:
            CallerGaveUp: when no request matched after ``input_attempts`` tries.
        """
        menu, intake, session = self.menu, self.ctx.intake, self.ctx.session
        request = None
        for _ in range(self.ctx.settings.input_attempts):
            reference = menu.ask_digits("enter_reference", 9, "reference", reference_problem)
            last4 = menu.ask_digits("enter_id_last4", 4, "id_last4", lambda d: None)
            request = intake.find_for_follow_up(session, reference, last4)
            if request is not None:
                break
            menu.step("follow_up_no_match")
            menu.play("follow_up_no_match")
        if request is None:
            raise CallerGaveUp("follow_up")
        intake.link_call(session, menu.call, request, "status_told", request.status.value)
        self.say_status(request)
        digit = menu.channel.stream_file(sound("follow_up_options"), "12")
        if not digit:
            digit = menu.channel.wait_for_digit(CHOICE_TIMEOUT_MS)
        if digit == "1":
            menu.step("follow_up_message")
            path = record_voice_message(menu, "follow-up")
            if path is not None:
                intake.add_voice_message(session, request, path, menu.call)
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
        starts_at = self.ctx.intake.appointment_start(self.ctx.session, request)
        if starts_at is None:
            return
        assert menu.hours is not None
        local = starts_at.astimezone(menu.hours.zone)
        speech.say_moment(menu.channel, menu.language, local, self.ctx.settings.timezone)


def reference_problem(digits: str) -> str | None:
    """The prompt for a typed reference number that is not one (Damm check digit), or None."""
    return None if is_valid_reference_number(digits) else "invalid_reference"
