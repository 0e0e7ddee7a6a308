"""What a requester is told, and when: one SMS per stage of a request, in their language."""

from __future__ import annotations

import tomllib
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from string import Formatter
from typing import Any

from sqlalchemy.orm import Session

from tawasul import outbox
from tawasul.errors import ConfigError
from tawasul.models import Language, OutboxKind, OutboxMessage, Request

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


class SmsTemplates:
    """SMS texts by stage and language; editable (``sms_templates_file`` setting)."""

    def __init__(self, texts: dict[str, dict[str, str]]) -> None:
        for stage in SmsStage:
            for language in Language:
                if language.value not in texts.get(stage.value, {}):
                    raise ConfigError(f"SMS template {stage.value}/{language.value} is missing")
        self._texts = texts

    @classmethod
    def load(cls, path: Path | None = None) -> SmsTemplates:
        """Read templates from a TOML file (default: the ones shipped with tawasul)."""
        source = path or DEFAULT_TEMPLATES
        try:
            with source.open("rb") as handle:
                return cls(tomllib.load(handle))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read SMS templates {source}: {exc}") from exc

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
            return text.format(**params)
        except (KeyError, IndexError) as exc:
            raise ConfigError(f"SMS template {stage}/{language} needs {exc}") from exc


def notify(
    session: Session,
    request: Request,
    stage: SmsStage,
    params: dict[str, Any] | None = None,
    available_at: datetime | None = None,
) -> OutboxMessage | None:
    """Owe the requester the SMS of this stage, in the caller's transaction.

    The number and the language are read from the request when the message is sent, so the
    outbox row holds no personal data. Returns None when the request has no callback number.
    """
    if not request.callback_number:
        return None
    payload = {"stage": stage.value, "params": dict(params or {})}
    return outbox.add(
        session, OutboxKind.SMS, request=request, payload=payload, available_at=available_at
    )


def forward(session: Session, request: Request) -> OutboxMessage:
    """Owe the ministry this request (same-day forwarding), in the caller's transaction."""
    return outbox.add(session, OutboxKind.FORWARD, request=request)
