"""``tawasul demo``: real Asterisk, a FastAGI server, scripted calls that file requests."""

from __future__ import annotations

import logging
import secrets
import signal
import sys
import threading
import time
from typing import Any

from ivr.ami import AMIClient
from ivr.app import build_server
from ivr.prompts import PromptBuilder, load_catalogue
from ivr.simulator import Simulator
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.ids import luhn_valid
from tawasul.masking import mask_national_id
from tawasul.migrate import upgrade
from tawasul.models import Call
from tawasul_cli.asterisk import Harness
from tawasul_cli.commands import format_request, keygen

log = logging.getLogger(__name__)


def demo_national_id() -> str:
    """A random, well-formed national ID (citizen or resident) for a scripted caller."""
    body = secrets.choice("12") + "".join(secrets.choice("0123456789") for _ in range(8))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def _scripts(count: int) -> list[tuple[str, str]]:
    """(description, simulator script) for each demo call: Arabic, English, a typo fixed."""
    scripts = []
    for index in range(count):
        national_id = demo_national_id()
        if index % 3 == 0:
            scripts.append(
                (f"Arabic caller, ID {mask_national_id(national_id)}", f"w1/1/w1/{national_id}")
            )
        elif index % 3 == 1:
            scripts.append(
                (f"English caller, ID {mask_national_id(national_id)}", f"w1/2/w1/{national_id}")
            )
        else:
            typo = national_id[:-1] + str((int(national_id[-1]) + 1) % 10)
            scripts.append(
                ("Arabic caller who mistypes the ID once", f"w1/1/w1/{typo}/w5/{national_id}")
            )
    return scripts


def run_demo(settings: Settings, calls: int, stay: bool = True) -> int:
    """Start everything, place ``calls`` scripted calls, print the requests they filed."""
    keygen(settings)
    PromptBuilder().build(load_catalogue(), progress=True)
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    harness = Harness.for_settings(settings)
    print("starting Asterisk 22 (first run builds its chroot, about a minute)...", flush=True)
    harness.up()
    try:
        server = build_server(settings)
    except OSError as exc:
        print(
            f"tawasul demo: cannot listen on {settings.agi_host}:{settings.agi_port} ({exc}); "
            "is another demo or agi-server running?",
            file=sys.stderr,
        )
        return 1
    server.start_in_thread()
    print(
        f"FastAGI server on {settings.agi_host}:{server.port}; Asterisk pid "
        f"{harness.running_pid()}",
        flush=True,
    )
    ami = AMIClient(
        settings.ami_host,
        settings.ami_port,
        settings.ami_username,
        settings.resolved_ami_secret(),
        name="demo",
    ).start()
    simulator = Simulator(ami)
    sessions = make_session_factory(engine)
    placed = []
    for description, script in _scripts(calls):
        call = simulator.call(
            script, caller_id="05" + "".join(secrets.choice("0123456789") for _ in range(8))
        )
        print(f"  calling: {description}", flush=True)
        placed.append(call)
        time.sleep(0.5)
    failures = 0
    for call in placed:
        if not simulator.wait_ended(call, timeout_s=120):
            failures += 1
    time.sleep(0.5)
    print("\nrequests filed by these calls:")
    with sessions() as session:
        for call in placed:
            row = session.query(Call).filter_by(uniqueid=call.ivr_uniqueid).one_or_none()
            if row is None or row.request is None:
                failures += 1
                print(
                    f"  call {call.ivr_uniqueid}: no request "
                    f"({row.outcome.value if row else 'never reached the IVR'})"
                )
            else:
                print("  " + format_request(row.request))
    if stay:
        print(
            "\nthe IVR stays up: call it with\n"
            f"  {sys.argv[0]} asterisk cli channel originate Local/s@tawasul-inbound/n "
            "application Wait 60\nCtrl-C stops the demo (Asterisk too).",
            flush=True,
        )
        stop = threading.Event()

        def _stop(*_: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        stop.wait()
    simulator.close()
    ami.close()
    server.shutdown()
    server.server_close()
    if stay:
        harness.down()
    return 1 if failures else 0
