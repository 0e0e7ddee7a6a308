"""What a job needs, built once per worker process by its composition root."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from tawasul.callbacks import CallbackPlacer
from tawasul.config import Settings
from tawasul.forwarding import ForwardingDelivery
from tawasul.sms import SmsDelivery


@dataclass
class JobContext:
    """The services the jobs of this process use."""

    settings: Settings
    sessions: sessionmaker[Session]
    sms: SmsDelivery
    forwarding: ForwardingDelivery
    callbacks: CallbackPlacer | None
    """None in a process without AMI (callback rows then wait for a worker that has it)."""


_current: JobContext | None = None


def install(context: JobContext) -> None:
    """Make ``context`` the one the jobs of this process use."""
    global _current
    _current = context


def current() -> JobContext:
    """Return the installed context.

    Raises:
        RuntimeError: in a process whose composition root did not install one.
    """
    if _current is None:
        raise RuntimeError("no job context: start jobs through `tawasul worker`")
    return _current
