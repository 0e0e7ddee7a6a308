"""After a queue call: the agent's disposition (a code from a configured list) on the call.

The after-call-work time itself is Asterisk's (the branch queues' ``wrapuptime``, written from
``Settings.after_call_work_s`` by ``tawasul asterisk up``): the member stays ready and is not
rung until it has passed, so no server-side timer can be lost with a process. The console
counts it down (the ``wrap_up`` event on the agent's stream).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tawasul.audit import record_event
from tawasul.errors import ConfigError, Conflict, NotFound, ValidationError
from tawasul.models import Call, User, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Disposition:
    """One wrap-up code with what the console shows in each language."""

    code: str
    ar: str
    en: str


def parse_dispositions(entries: Sequence[str]) -> tuple[Disposition, ...]:
    """``Settings.dispositions`` ("<code>=<Arabic>|<English>") as dispositions.

    Raises:
        ConfigError: a malformed entry, a code outside ``[a-z0-9_]{1,32}`` or one given twice.
    """
    found: dict[str, Disposition] = {}
    for entry in entries:
        code, sep, names = entry.partition("=")
        arabic, bar, english = names.partition("|")
        code = code.strip()
        if not sep or not bar or not arabic.strip() or not english.strip():
            raise ConfigError(f"disposition {entry!r}: write <code>=<Arabic>|<English>")
        if not (code.isascii() and code.replace("_", "").isalnum() and code.islower()):
            raise ConfigError(f"disposition code {code!r}: a-z, 0-9 and _ only")
        if len(code) > 32 or code in found:
            raise ConfigError(f"disposition code {code!r} is too long or given twice")
        found[code] = Disposition(code, arabic.strip(), english.strip())
    return tuple(found.values())


class WrapUp:
    """Record the agent's disposition of a call, once, with who and when."""

    def __init__(
        self, dispositions: Sequence[Disposition], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.dispositions = tuple(dispositions)
        self._codes = {item.code for item in dispositions}
        self._clock = clock

    def dispose(self, session: Session, agent: User, uniqueid: str, code: str) -> Call:
        """Store the disposition against the call; a request linked to it gets an audit row.

        Args:
            session: committed on return.
            agent: who wraps up (stored as ``disposition_by``).
            uniqueid: the caller's channel ``UNIQUEID`` (the screen-pop's ``call``).
            code: one of the configured codes.

        Returns:
            The call with its disposition.

        Raises:
            ValidationError: an unknown code.
            NotFound: no such call.
            Conflict: the call already has a disposition.
        """
        if code not in self._codes:
            raise ValidationError("code", "not one of the configured dispositions")
        call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        if call is None:
            raise NotFound("no such call")
        if call.disposition is not None:
            raise Conflict("the call already has a disposition")
        now = self._clock()
        call.disposition = code
        call.disposition_by = agent.id
        call.disposition_at = now
        if call.request_id is not None:
            record_event(
                session,
                call.request_id,
                "call_disposition",
                actor=f"user:{agent.id}",
                at=now,
                details={"call_id": call.id, "code": code},
            )
        session.commit()
        log.info("call %s wrapped up by user:%s as %s", call.id, agent.id, code)
        return call
