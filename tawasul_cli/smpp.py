"""Composition root of ``tawasul smpp``: the one process that holds the SMS centre's bind."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

from sqlalchemy import Engine, text

from providers import build
from tawasul.bind_status import HEARTBEAT_S, write_bind_status
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.errors import ConfigError

log = logging.getLogger(__name__)

ADVISORY_LOCK = 0x7A5D5350
"""PostgreSQL advisory lock key of the bind ("tawasul smpp"): one holder in the cluster."""


@contextlib.contextmanager
def only_bind(engine: Engine, lock_path: str) -> Iterator[None]:
    """Hold the right to bind: a second ``tawasul smpp`` would send the first one's parts
    back to pending on start (and both would submit them).

    Raises:
        ConfigError: another ``tawasul smpp`` holds it.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            if not connection.execute(
                text(f"SELECT pg_try_advisory_lock({ADVISORY_LOCK})")
            ).scalar():
                raise ConfigError("another tawasul smpp holds the SMS centre's bind")
            try:
                yield
            finally:
                connection.execute(text(f"SELECT pg_advisory_unlock({ADVISORY_LOCK})"))
        return
    # SQLite lives on one machine: a lock file beside the database is enough.
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConfigError("another tawasul smpp holds the SMS centre's bind") from exc
        yield


def serve_smpp(settings: Settings) -> int:
    """Hold the transceiver bind until SIGTERM or SIGINT, then unbind.

    Run exactly one per SMS centre account: the workers hand the messages over through the
    database, this process submits them and records the receipts.

    Raises:
        ConfigError: ``sms_provider`` is not ``smpp``, the account is incomplete, or another
            ``tawasul smpp`` holds the bind.
    """
    if settings.sms_provider != "smpp":
        raise ConfigError("tawasul smpp needs sms_provider = smpp")
    engine = make_engine(settings.resolved_database_url())
    sessions = make_session_factory(engine)
    bind = build.smpp_bind(settings, sessions)
    stop = threading.Event()

    def _stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    with only_bind(engine, str(settings.var_dir / "smpp.lock")):
        log.info("SMPP: binding to %s:%s", settings.smpp_host, settings.smpp_port)
        heartbeat = threading.Thread(
            target=_report_bind, args=(bind, settings, stop), name="smpp-status", daemon=True
        )
        heartbeat.start()
        try:
            bind.run(stop)
        finally:
            stop.set()
            heartbeat.join(HEARTBEAT_S)
            _write_status(settings, bound=False, binds=bind.binds)
    return 0


def _report_bind(bind: Any, settings: Settings, stop: threading.Event) -> None:
    """Write the bind's state for ``/health`` (:mod:`tawasul.bind_status`): at once when it
    changes, and every heartbeat while this process lives."""
    last: bool | None = None
    written = 0.0
    while not stop.is_set():
        bound = bind.bound.is_set()
        now = time.monotonic()
        if bound != last or now - written >= HEARTBEAT_S:
            _write_status(settings, bound=bound, binds=bind.binds)
            last, written = bound, now
        stop.wait(0.2)


def _write_status(settings: Settings, bound: bool, binds: int) -> None:
    try:
        write_bind_status(settings.var_dir, bound=bound, binds=binds)
    except OSError as exc:  # /health then reads "down": say why here
        log.warning("SMPP: cannot write the bind status for /health: %s", exc)
