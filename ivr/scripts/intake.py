"""The phone menu script (``agi://.../intake``): recording notice, language, working hours,
main menu, then the new-request or follow-up flow (``ivr.flows``).

A caller who gives no valid answer to a question (:class:`~ivr.flows.menu.CallerGaveUp`) goes
to an agent, or out of hours gets a callback: nobody is hung up on.
"""

from __future__ import annotations

import logging

from ivr.agi import Channel
from ivr.flows.main_menu import gave_up, main_menu, welcome
from ivr.flows.menu import CallerGaveUp, Menu
from ivr.scripts.base import CallContext

log = logging.getLogger(__name__)


def run(channel: Channel, ctx: CallContext) -> None:
    """The whole phone menu for one call."""
    call = ctx.intake.open_call(ctx.session, channel.uniqueid, channel.caller_id)
    ctx.call = call
    menu = Menu(channel, ctx, call)
    early = welcome(menu)
    try:
        main_menu(menu, early)
    except CallerGaveUp as exc:
        log.info("call %s: too many attempts at %s", call.uniqueid, exc.question)
        menu.step("too_many_attempts", exc.question)
        try:
            gave_up(menu)
        except CallerGaveUp:
            # Out of hours and no number to call back: the queue's apology is all that is left.
            menu.to_agent()
