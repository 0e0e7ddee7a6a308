"""Composition root of ``tawasul smpp``: the one process that holds the SMS centre's bind."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from providers import build
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.errors import ConfigError

log = logging.getLogger(__name__)


def serve_smpp(settings: Settings) -> int:
    """Hold the transceiver bind until SIGTERM or SIGINT, then unbind.

    Run exactly one per SMS centre account: the workers hand the messages over through the
    database, this process submits them and records the receipts.

    Raises:
        ConfigError: ``sms_provider`` is not ``smpp``, or the account is incomplete.
    """
    if settings.sms_provider != "smpp":
        raise ConfigError("tawasul smpp needs sms_provider = smpp")
    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    bind = build.smpp_bind(settings, sessions)
    stop = threading.Event()

    def _stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("SMPP: binding to %s:%s", settings.smpp_host, settings.smpp_port)
    bind.run(stop)
    return 0
