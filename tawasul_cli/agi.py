"""Composition root of the IVR processes: ``tawasul agi-server`` and ``tawasul-agi <script>``.

Both build the database, the services and the call runner here; the FastAGI server serves them
over TCP, the classic program over its stdin/stdout, once per call.
"""

from __future__ import annotations

import dataclasses
import logging
import sys

from ivr import classic
from ivr.scripts import SCRIPTS
from ivr.server import CallRunner, FastAGIServer
from tawasul import security_log
from tawasul.config import Settings, load_settings
from tawasul.db import make_engine, make_session_factory
from tawasul.intake import IntakeService
from tawasul.masking import install_log_scrubbing
from tawasul.migrate import upgrade
from tawasul.pii import PiiProtector
from tawasul_cli.lifecycle import wait_for_termination

log = logging.getLogger(__name__)


def build_runner(settings: Settings) -> CallRunner:
    """Wire the call runner for these settings (fails closed without a secret key)."""
    engine = make_engine(settings.resolved_database_url())
    pii = PiiProtector.from_master_key(settings.resolved_secret_key())
    sessions = make_session_factory(engine)
    security_log.install(sessions)
    return CallRunner(settings, sessions, IntakeService(pii), SCRIPTS)


def build_server(settings: Settings) -> FastAGIServer:
    """Return a FastAGI server bound to the configured address, not yet serving."""
    return FastAGIServer((settings.agi_host, settings.agi_port), build_runner(settings))


def serve_agi(settings: Settings) -> int:
    """Run the FastAGI server until SIGINT or SIGTERM."""
    upgrade(make_engine(settings.resolved_database_url()))
    if not settings.asterisk_root:
        # The project's own Asterisk runs in a chroot: find the files it writes there.
        from tawasul_cli.asterisk import Harness

        root = Harness.for_settings(settings).root
        if root.is_dir():
            settings = dataclasses.replace(settings, asterisk_root=str(root))
    server = build_server(settings)
    server.start_in_thread()
    log.info("FastAGI listening on %s:%s", settings.agi_host, server.port)
    wait_for_termination()
    server.shutdown()
    server.server_close()
    return 0


def classic_main(argv: list[str] | None = None) -> int:
    """Entry point of ``tawasul-agi <script>``, started by Asterisk once per call."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    install_log_scrubbing()
    return classic.serve_one_call(
        lambda: build_runner(load_settings()), sys.argv[1:] if argv is None else argv
    )


if __name__ == "__main__":
    sys.exit(classic_main())
