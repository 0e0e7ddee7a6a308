"""The intake script: language, national ID, request filed, reference number read back."""

from __future__ import annotations

import logging

from ivr import variables as var
from ivr.agi import Channel
from ivr.prompts import sound
from ivr.scripts.base import CallContext
from tawasul.errors import ValidationError
from tawasul.ids import normalize_saudi_mobile, validate_national_id
from tawasul.intake import NewRequest
from tawasul.masking import mask_digits
from tawasul.models import Call, CallOutcome, Language

log = logging.getLogger(__name__)

LANGUAGE_TIMEOUT_MS = 5000


def run(channel: Channel, ctx: CallContext) -> None:
    """File a request from the caller's national ID and read back its reference number."""
    call = ctx.intake.open_call(ctx.session, channel.uniqueid, channel.caller_id)
    ctx.call = call
    language = choose_language(channel, ctx, call)
    national_id = ask_national_id(channel, ctx, call)
    if national_id is None:
        send_to_agent(channel, ctx, call)
        return
    branch = channel.get_variable(var.BRANCH) or ctx.settings.default_branch
    if branch not in ctx.settings.branches:
        branch = ctx.settings.default_branch
    request = ctx.intake.file_request(
        ctx.session,
        NewRequest(
            national_id=national_id,
            language=language,
            branch=branch,
            callback_number=saudi_mobile_or_none(channel.caller_id),
        ),
        call=call,
    )
    channel.set_variable(var.REFERENCE, request.reference_number)
    ctx.intake.record_step(ctx.session, call, "request_filed")
    channel.stream_file(sound("request_saved"))
    channel.stream_file(sound("your_reference_is"))
    channel.say_digits(request.reference_number)
    channel.stream_file(sound("goodbye"))
    channel.set_variable(var.NEXT, var.NEXT_HANGUP)


def saudi_mobile_or_none(caller_id: str) -> str | None:
    """The caller ID in E.164 if it is a Saudi mobile number (SMS can reach it), else None."""
    try:
        return normalize_saudi_mobile(caller_id) if caller_id else None
    except ValidationError:
        return None


def choose_language(channel: Channel, ctx: CallContext, call: Call) -> Language:
    """1 for Arabic, 2 for English; Arabic on silence or after repeated wrong keys."""
    language = Language.AR
    for _ in range(ctx.settings.input_attempts):
        entry = channel.get_data(sound("choose_language"), LANGUAGE_TIMEOUT_MS, 1)
        if entry.digits == "2":
            language = Language.EN
            break
        if entry.digits in ("1", ""):
            break
    channel.set_variable(var.LANGUAGE, language.value)
    ctx.intake.set_language(ctx.session, call, language)
    return language


def ask_national_id(channel: Channel, ctx: CallContext, call: Call) -> str | None:
    """Collect a valid national ID / iqama; None after too many wrong or missing entries."""
    for _ in range(ctx.settings.input_attempts):
        entry = channel.get_data(sound("enter_national_id"), ctx.settings.digit_timeout_ms, 10)
        if not entry.digits:
            ctx.intake.record_step(ctx.session, call, "national_id_no_input")
            channel.stream_file(sound("no_input"))
            continue
        try:
            national_id = validate_national_id(entry.digits)
        except ValidationError as exc:
            ctx.intake.record_step(
                ctx.session, call, f"national_id_invalid:{exc.reason}", mask_digits(entry.digits)
            )
            channel.stream_file(sound("invalid_national_id"))
            continue
        ctx.intake.record_step(ctx.session, call, "national_id", mask_digits(national_id))
        return national_id
    return None


def send_to_agent(channel: Channel, ctx: CallContext, call: Call) -> None:
    """Hand the caller to the branch's agent queue (the dialplan does the queueing)."""
    ctx.intake.record_step(ctx.session, call, "to_agent")
    call.outcome = CallOutcome.SENT_TO_AGENT
    ctx.session.commit()
    channel.stream_file(sound("transfer_to_agent"))
    channel.set_variable(var.NEXT, var.NEXT_AGENT)
