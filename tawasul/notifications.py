"""What a requester is told, and when: one SMS per stage of a request, in their language."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from string import Formatter
from typing import Any

from sqlalchemy.orm import Session

from tawasul import outbox
from tawasul.config import Settings
from tawasul.display_names import DisplayNames
from tawasul.errors import ConfigError, ValidationError
from tawasul.models import Language, OutboxKind, OutboxMessage, OutboxPriority, Request
from tawasul.sms_parts import PART_BUDGET, SmsLength, sms_length

DEFAULT_TEMPLATES = Path(__file__).parent / "sms_templates.toml"


class SmsStage(StrEnum):
    """The stages of a request at which the requester gets a text message."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    REMINDER = "reminder"
    COMPLETED = "completed"
    VERIFICATION_CODE = "verification_code"


SMS_PRIORITY: dict[SmsStage, OutboxPriority] = {
    SmsStage.VERIFICATION_CODE: OutboxPriority.URGENT,
    SmsStage.APPROVED: OutboxPriority.DECISION,
    SmsStage.REJECTED: OutboxPriority.DECISION,
    SmsStage.REMINDER: OutboxPriority.DECISION,
    SmsStage.RECEIVED: OutboxPriority.NORMAL,
    SmsStage.IN_REVIEW: OutboxPriority.NORMAL,
    SmsStage.COMPLETED: OutboxPriority.NORMAL,
}
"""Each stage's SMS priority. The one-time code goes at once: the requester is on the phone
with the agent, waiting for it, and it expires in minutes. Decisions and the appointment come
next, progress messages last (README, "SMS: priority and the per-number limit")."""

PART_BUDGETS: dict[SmsStage, int] = {stage: PART_BUDGET for stage in SmsStage}
PART_BUDGETS[SmsStage.REJECTED] = 3
"""The most SMS parts each stage's message may take. A rejection carries the supervisor's own
words: three parts leave about 145 Arabic or 400 English characters for them, and a longer
reason is refused (:meth:`SmsTemplates.check_budget`), never cut: a cut reason could say the
opposite of what was meant."""


@dataclass(frozen=True)
class SmsPreview:
    """A message as the requester would get it: text, length and its part budget."""

    stage: SmsStage
    language: Language
    body: str
    length: SmsLength
    budget: int


class SmsTemplates:
    """SMS texts by stage and language; editable (``sms_templates_file`` setting).

    Branch and official codes in the parameters (``branch``, ``official``) are rendered as
    their display names in the message's language when it is sent: ``{place}`` is the
    meeting's video link, or the branch as a place ("فرع الرياض", "Riyadh branch").
    """

    def __init__(self, texts: dict[str, dict[str, str]], names: DisplayNames | None = None) -> None:
        for stage in SmsStage:
            for language in Language:
                if language.value not in texts.get(stage.value, {}):
                    raise ConfigError(f"SMS template {stage.value}/{language.value} is missing")
        self._texts = texts
        self._names = names or DisplayNames.configured()

    @classmethod
    def load(cls, path: Path | None = None, names: DisplayNames | None = None) -> SmsTemplates:
        """Read templates from a TOML file (default: the ones shipped with tawasul).

        Args:
            path: the TOML file; None for the shipped templates.
            names: the display names of branches and officials; None for the defaults.

        Raises:
            ConfigError: the file cannot be read, or a template is missing.
        """
        source = path or DEFAULT_TEMPLATES
        try:
            with source.open("rb") as handle:
                texts = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read SMS templates {source}: {exc}") from exc
        return cls(texts, names)

    def values(self, language: Language, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters with codes turned into display names in ``language``."""
        values = dict(params)
        branch = params.get("branch")
        if "place" not in values and (branch or params.get("meeting_link")):
            # Stored as codes and rendered at sending: the message's language is the request's
            # then (an SMS owed before a language change goes out in the new one).
            link = params.get("meeting_link")
            values["place"] = link or self._names.place(str(branch), language)
        elif str(values.get("place", "")).endswith(" branch"):
            # Owed before display names (the place was stored as "<code> branch").
            code = str(values["place"]).removesuffix(" branch")
            if code in self._names.branches:
                values["place"] = self._names.place(code, language)
        if branch:
            values["branch"] = self._names.branch(str(branch), language)
        if params.get("official"):
            values["official"] = self._names.official(str(params["official"]), language)
        return values

    def length(self, stage: SmsStage, language: Language, params: dict[str, Any]) -> SmsLength:
        """The rendered message's encoding, length and SMS part count."""
        return sms_length(self.render(stage, language, params))

    def preview(self, stage: SmsStage, language: Language, params: dict[str, Any]) -> SmsPreview:
        """The rendered message with its length and budget (the console's live counter)."""
        body = self.render(stage, language, params)
        return SmsPreview(stage, language, body, sms_length(body), PART_BUDGETS[stage])

    def check_budget(
        self, stage: SmsStage, language: Language, params: dict[str, Any], field: str
    ) -> SmsLength:
        """Refuse a value that makes the stage's message exceed its part budget.

        Args:
            stage: the message.
            language: the requester's language.
            params: the values it is rendered with.
            field: the input named in the refusal (the value the person typed).

        Returns:
            The message's length, when within the budget.

        Raises:
            ValidationError: naming ``field``, when the message would take too many parts.
        """
        length = self.length(stage, language, params)
        budget = PART_BUDGETS[stage]
        if length.parts > budget:
            room = budget * length.per_part
            raise ValidationError(
                field,
                f"too long for the SMS: {length.parts} parts, at most {budget} "
                f"({room} {length.encoding.value} units in all, {length.units} now)",
            )
        return length

    def fields(self, stage: SmsStage, language: Language) -> set[str]:
        """The placeholders a template uses."""
        text = self._texts[stage.value][language.value]
        return {name for _, name, _, _ in Formatter().parse(text) if name}

    def render(self, stage: SmsStage, language: Language, params: dict[str, Any]) -> str:
        """Fill a template.

        Raises:
            ConfigError: when the template needs a value that was not given.
        """
        text = self._texts[stage.value][language.value]
        try:
            return text.format(**self.values(language, params))
        except (KeyError, IndexError) as exc:
            raise ConfigError(f"SMS template {stage}/{language} needs {exc}") from exc


def sms_templates(settings: Settings) -> SmsTemplates:
    """The SMS templates and display names the settings configure.

    Raises:
        ConfigError: unreadable templates, or a branch or official without display names.
    """
    path = Path(settings.sms_templates_file) if settings.sms_templates_file else None
    return SmsTemplates.load(path, DisplayNames.configured(settings))


def notify(
    session: Session,
    request: Request,
    stage: SmsStage,
    params: dict[str, Any] | None = None,
    available_at: datetime | None = None,
    *,
    flush: bool = True,
) -> OutboxMessage | None:
    """Owe the requester the SMS of this stage, in the caller's transaction.

    The number and the language are read from the request when the message is sent, so the
    outbox row holds no personal data. Returns None when the request has no callback number.
    With ``flush`` False the row is written by the caller's next flush (it has no id until
    then): see :func:`tawasul.outbox.add`.
    """
    if not request.callback_number:
        return None
    payload = {"stage": stage.value, "params": dict(params or {})}
    return outbox.add(
        session,
        OutboxKind.SMS,
        request=request,
        payload=payload,
        available_at=available_at,
        priority=SMS_PRIORITY[stage],
        flush=flush,
    )


def forward(session: Session, request: Request, *, flush: bool = True) -> OutboxMessage:
    """Owe the ministry this request (same-day forwarding), in the caller's transaction
    (``flush`` as for :func:`notify`)."""
    return outbox.add(session, OutboxKind.FORWARD, request=request, flush=flush)
