"""Security events: failed sign-ins, lockouts, refused AMI actions, rejected portal signatures,
permission denials — recorded with the actor and the time, exportable for an incident report.

Code anywhere calls :func:`record`; the event goes to the ``tawasul.security`` logger (so it is
in the process's log) and, where the process installed :class:`SecurityEventWriter`, into the
``security_event`` table. Details never carry personal data: they are scrubbed again on write.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tawasul.masking import scrub
from tawasul.models import Language, SecurityEvent

LOGGER = logging.getLogger("tawasul.security")

KIND_NAMES: dict[str, dict[Language, str]] = {
    "login_failed": {Language.AR: "محاولة دخول فاشلة", Language.EN: "Failed sign-in"},
    "account_locked": {Language.AR: "قفل الحساب", Language.EN: "Account locked"},
    "ami_refused": {Language.AR: "رفض أمر AMI", Language.EN: "AMI action refused"},
    "portal_signature_refused": {
        Language.AR: "رفض توقيع البوابة",
        Language.EN: "Portal signature refused",
    },
    "permission_denied": {Language.AR: "رفض صلاحية", Language.EN: "Permission denied"},
    "sip_auth_failed": {Language.AR: "فشل تسجيل هاتف SIP", Language.EN: "SIP registration failed"},
    "sip_address_blocked": {
        Language.AR: "حظر عنوان بعد محاولات SIP فاشلة",
        Language.EN: "Address blocked after failed SIP registrations",
    },
    "sip_secret_rotated": {
        Language.AR: "تغيير كلمة مرور SIP",
        Language.EN: "SIP password replaced",
    },
    "call_spied": {
        Language.AR: "مشرف على مكالمة موظف",
        Language.EN: "Supervisor joined an agent's call",
    },
}
"""What a person reads for each kind of event (an export's ``kind_name``)."""


def kind_name(kind: str, language: Language) -> str:
    """The name of an event kind in ``language`` (the kind itself when it has none)."""
    return KIND_NAMES.get(kind, {}).get(language, kind)


def record(kind: str, actor: str, **details: Any) -> None:
    """Record a security event (logged at WARNING, stored where a writer is installed)."""
    clean = {key: scrub(str(value))[:200] for key, value in details.items()}
    LOGGER.warning(
        "%s by %s %s",
        kind,
        scrub(actor)[:64],
        clean,
        extra={"security_event": (kind, actor, clean)},
    )


class SecurityEventWriter(logging.Handler):
    """Stores the events logged through :func:`record` in the database, from its own thread.

    The request that refuses something may still hold a transaction (on SQLite, the database's
    write lock); writing from a queue after it ends never blocks or fails the caller.
    """

    RETRY_FOR_S = 120.0

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(logging.WARNING)
        self.sessions = sessions
        self._pending: queue.Queue[tuple[datetime, str, str, dict[str, Any]]] = queue.Queue()
        threading.Thread(target=self._drain, name="security-events", daemon=True).start()

    def emit(self, log_record: logging.LogRecord) -> None:
        event = getattr(log_record, "security_event", None)
        if event is None:
            return
        kind, actor, details = event
        at = datetime.fromtimestamp(log_record.created, UTC)
        self._pending.put((at, kind, scrub(actor)[:64], details))

    def wait_stored(self, timeout_s: float = 30.0) -> bool:
        """Wait until every event emitted so far is stored; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._pending.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _drain(self) -> None:
        while True:
            at, kind, actor, details = self._pending.get()
            deadline = time.monotonic() + self.RETRY_FOR_S
            while True:
                try:
                    with self.sessions() as session:
                        session.add(SecurityEvent(at=at, kind=kind, actor=actor, details=details))
                        session.commit()
                    break
                except Exception:  # noqa: BLE001 (retried; given up loudly, never raised)
                    if time.monotonic() > deadline:
                        logging.getLogger(__name__).exception("security event %s lost", kind)
                        break
                    time.sleep(0.2)
            self._pending.task_done()


def install(sessions: sessionmaker[Session]) -> SecurityEventWriter:
    """Store this process's security events through ``sessions``.

    One writer per process: installing again (a new app in the same process, as tests do)
    replaces the previous writer, so no event is stored twice or into a stale database.
    """
    for handler in list(LOGGER.handlers):
        if isinstance(handler, SecurityEventWriter):
            if handler.sessions is sessions:
                return handler
            LOGGER.removeHandler(handler)
    writer = SecurityEventWriter(sessions)
    LOGGER.addHandler(writer)
    return writer


def export(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The events in [start, end), oldest first, as plain dicts for a report."""
    rows = session.scalars(
        select(SecurityEvent)
        .where(SecurityEvent.at >= start, SecurityEvent.at < end)
        .order_by(SecurityEvent.at, SecurityEvent.id)
    )
    return [
        {"at": row.at.isoformat(), "kind": row.kind, "actor": row.actor, **row.details}
        for row in rows
    ]
