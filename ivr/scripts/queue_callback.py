"""Callbacks that keep the caller's place in the agent queue.

``request`` runs when a waiting caller presses 1 at a queue announcement: it records the
callback (when the caller joined the queue, and the position at that moment) and lets the caller
hang up. The job queue places the callback by ringing ``Local/<branch>@tawasul-queue-callback``
first: that place-holder runs ``place``, which puts it back into the queue behind every caller
who joined before the original caller and ahead of every one who came later (Queue's position
argument), so it neither jumps ahead nor falls behind. When an agent answers the place-holder,
the requester is dialled (``tawasul-callback``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from ivr import variables as var
from ivr.agi import Channel
from ivr.flows.callback_number import CallbackNumber
from ivr.flows.menu import CallerGaveUp, Menu
from ivr.scripts.base import CallContext
from tawasul.callbacks import schedule_callback
from tawasul.hours import WorkingHours
from tawasul.models import Callback, CallOutcome, Language, utcnow

log = logging.getLogger(__name__)

PLACEHOLDER = "Local/{branch}@tawasul-queue-callback"


def placeholder_endpoint(branch: str) -> str:
    """What the callback placer rings first for a queued callback of ``branch``."""
    return PLACEHOLDER.format(branch=branch)


def queue_position(waiting_joined: Sequence[float | None], joined: float) -> int:
    """Where a callback of a caller who joined at ``joined`` re-enters the queue.

    ``waiting_joined`` holds, in queue order, when each waiting caller joined (None when not
    known: such a caller is treated as having come later, and it is never jumped over by more
    than callers known to be earlier). The callback goes before the first caller who joined
    after it; at the end when there is none.
    """
    for index, other in enumerate(waiting_joined, 1):
        if other is None or other > joined:
            return index
    return len(waiting_joined) + 1


def request(channel: Channel, ctx: CallContext) -> None:
    """The caller pressed 1 in the queue: record a callback that keeps the place."""
    call = ctx.intake.open_call(ctx.session, channel.uniqueid, channel.caller_id)
    ctx.call = call
    menu = Menu(channel, ctx, call)
    language = channel.get_variable(var.LANGUAGE) or "ar"
    menu.language = Language.EN if language == "en" else Language.AR
    branch = channel.get_variable(var.BRANCH) or ctx.settings.default_branch
    menu.branch = branch if branch in ctx.settings.branches else ctx.settings.default_branch
    joined_text = channel.get_variable(var.QUEUE_JOINED)
    position_text = channel.get_variable(var.QUEUE_POSITION)
    joined = datetime.fromtimestamp(float(joined_text), UTC) if joined_text else utcnow()
    position = int(position_text) if position_text and position_text.isdigit() else None
    menu.step("queue_callback_asked", str(position or ""))
    try:
        number = CallbackNumber(menu).ask()
    except CallerGaveUp:
        # No number to call back: back into the queue at the same place.
        menu.step("queue_callback_no_number")
        channel.set_variable(var.NEXT, var.NEXT_AGENT)
        return
    callback = Callback(
        request_id=call.request_id,
        call_id=call.id,
        number=number,
        branch=menu.branch,
        agent_endpoint=placeholder_endpoint(menu.branch),
        queued_at=joined,
        due_at=utcnow(),
        position=position,
        max_attempts=ctx.settings.callback_max_attempts,
    )
    schedule_callback(ctx.session, callback)
    ctx.intake.note_step(call, "queue_callback_booked", str(position or ""))
    ctx.session.commit()
    log.info("call %s: callback %s keeps position %s", call.uniqueid, callback.id, position)
    menu.play("callback_recorded", "goodbye")
    channel.set_variable(var.NEXT, var.NEXT_HANGUP)


def refused(channel: Channel, ctx: CallContext) -> None:
    """Queue() came back without an agent: record why, and offer a callback instead.

    In open hours the callback is a queued one (it keeps the caller's place and is placed as
    soon as an agent takes it); when the branch has closed meanwhile, it is booked for the
    next opening, as the closed-hours menu does. A caller who gives no number hears the
    apology (the dialplan plays it when ``TAWASUL_NEXT`` is not ``hangup``).
    """
    call = ctx.intake.open_call(ctx.session, channel.uniqueid, channel.caller_id)
    ctx.call = call
    status = channel.get_variable(var.QUEUE_STATUS) or "UNKNOWN"
    menu = Menu(channel, ctx, call)
    menu.language = Language.EN if channel.get_variable(var.LANGUAGE) == "en" else Language.AR
    branch = channel.get_variable(var.BRANCH) or ctx.settings.default_branch
    menu.branch = branch if branch in ctx.settings.branches else ctx.settings.default_branch
    menu.hours = WorkingHours.for_branch(ctx.settings, menu.branch)
    now = utcnow()
    menu.open_now = menu.hours.is_open(now)
    # Asked for a number earlier on this call (out of hours) and none came: not again.
    asked = any(str(entry.get("step", "")).startswith("callback_number") for entry in call.journey)
    menu.step("queue_refused", status)
    # The queue did not take the call: it was not sent to an agent, whatever the menu said.
    if call.outcome in (CallOutcome.IN_PROGRESS, CallOutcome.SENT_TO_AGENT):
        call.outcome = CallOutcome.NO_AGENT
    ctx.intake.save_journey(ctx.session, call)
    log.info("call %s: the %s queue refused it (%s)", call.uniqueid, menu.branch, status)
    if asked:
        channel.set_variable(var.NEXT, var.NEXT_AGENT)
        return
    menu.play("no_agent_callback")
    try:
        number = CallbackNumber(menu).ask()
    except CallerGaveUp:
        menu.step("queue_refused_no_number")
        channel.set_variable(var.NEXT, var.NEXT_AGENT)
        return
    joined_text = channel.get_variable(var.QUEUE_JOINED)
    try:
        joined = datetime.fromtimestamp(float(joined_text), UTC) if joined_text else now
    except ValueError:
        joined = now
    queued = menu.open_now
    callback = Callback(
        request_id=call.request_id,
        call_id=call.id,
        number=number,
        branch=menu.branch,
        agent_endpoint=placeholder_endpoint(menu.branch) if queued else None,
        queued_at=joined,
        due_at=now if queued else menu.hours.next_opening(now),
        max_attempts=ctx.settings.callback_max_attempts,
    )
    schedule_callback(ctx.session, callback)
    ctx.intake.note_step(call, "queue_callback_booked" if queued else "callback_booked")
    ctx.session.commit()
    log.info("call %s: callback %s instead of the queue", call.uniqueid, callback.id)
    menu.play("callback_booked_closed", "goodbye")
    channel.set_variable(var.NEXT, var.NEXT_HANGUP)


def place(channel: Channel, ctx: CallContext) -> None:
    """On the place-holder channel: compute where it re-enters the queue."""
    callback_id = channel.get_variable(var.CALLBACK_ID) or ""
    callback = ctx.session.get(Callback, int(callback_id)) if callback_id.isdigit() else None
    ctx.session.commit()  # no transaction open while Asterisk answers (ivr.guard)
    if callback is None:
        raise LookupError(f"no callback {callback_id!r} for the place-holder")
    queue = f"tawasul-{callback.branch}"
    joined = callback.queued_at.timestamp()
    count_text = channel.get_full_variable(f"${{QUEUE_WAITING_COUNT({queue})}}") or "0"
    waiting: list[float | None] = []
    for index in range(1, int(count_text) + 1 if count_text.isdigit() else 1):
        other = channel.get_full_variable(f"${{QUEUE_GET_CHANNEL({queue},{index})}}") or ""
        stamp = (
            channel.get_full_variable(f"${{IMPORT({other},{var.QUEUE_JOINED})}}") if other else None
        )
        try:
            waiting.append(float(stamp) if stamp else None)
        except ValueError:
            waiting.append(None)
    position = queue_position(waiting, joined)
    channel.set_variable("__" + var.QUEUE_JOINED, f"{joined:.3f}")
    channel.set_variable(var.CALLBACK_POSITION, position)
    log.info(
        "callback %s re-enters %s at position %s of %s",
        callback.id,
        queue,
        position,
        len(waiting) + 1,
    )
