"""``tawasul demo``: real Asterisk, the FastAGI server, a worker, the agent API, scripted calls."""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select

from ivr.ami import AMIClient
from ivr.app import build_server
from ivr.prompts import PromptBuilder, load_catalogue
from ivr.simulator import Simulator
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.ids import luhn_valid
from tawasul.masking import mask_national_id
from tawasul.migrate import upgrade
from tawasul.models import Call, Role, SmsMessage, User
from tawasul_cli.asterisk import Harness
from tawasul_cli.commands import format_request, keygen
from tawasul_cli.redis_server import RedisServer

log = logging.getLogger(__name__)

DEMO_USERS = (("agent", Role.AGENT), ("supervisor", Role.SUPERVISOR))


def demo_national_id() -> str:
    """A random, well-formed national ID (citizen or resident) for a scripted caller."""
    body = secrets.choice("12") + "".join(secrets.choice("0123456789") for _ in range(8))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def _scripts(count: int) -> list[tuple[str, str]]:
    """(description, simulator script) for each demo call: Arabic, English, a typo fixed."""
    scripts = []
    for index in range(count):
        national_id = demo_national_id()
        masked = mask_national_id(national_id)
        if index % 3 == 0:
            scripts.append((f"Arabic caller, ID {masked}", f"w2/1/w3/{national_id}"))
        elif index % 3 == 1:
            scripts.append((f"English caller, ID {masked}", f"w2/2/w3/{national_id}"))
        else:
            typo = national_id[:-1] + str((int(national_id[-1]) + 1) % 10)
            scripts.append(
                ("Arabic caller who mistypes the ID once", f"w2/1/w3/{typo}/w6/{national_id}")
            )
    return scripts


def _demo_accounts(settings: Settings) -> list[tuple[str, str, str]]:
    """Create the demo agent and supervisor once; their passwords live in var/, mode 600."""
    path = settings.var_dir / "demo-accounts.txt"
    if path.exists():
        return [tuple(line.split()) for line in path.read_text().splitlines()]  # type: ignore[misc]
    sessions = make_session_factory(make_engine(settings.resolved_database_url()))
    accounts = []
    with sessions() as session:
        service = AccountService(settings.branches)
        for username, role in DEMO_USERS:
            if session.scalar(select(User.id).where(User.username == username)):
                continue
            password = secrets.token_urlsafe(12)
            extension = "Local/1001@tawasul-simulated-agents" if role == Role.AGENT else None
            service.create_user(
                session, NewUser(username, password, role, settings.default_branch, extension)
            )
            accounts.append((username, password, role.value))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(" ".join(account) + "\n" for account in accounts)
    return accounts


def _spawn(settings: Settings, name: str, *arguments: str) -> subprocess.Popen[bytes]:
    logs = settings.var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TAWASUL_VAR_DIR": str(settings.var_dir),
        "TAWASUL_ASTERISK_ROOT": settings.asterisk_root,
    }
    with open(logs / f"{name}.log", "ab") as handle:
        return subprocess.Popen(
            [str(Path(sys.argv[0]).resolve()), *arguments],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_demo(settings: Settings, calls: int, stay: bool = True) -> int:
    """Start everything, place ``calls`` scripted calls, print the requests and their SMS."""
    keygen(settings)
    PromptBuilder().build(load_catalogue(), progress=True)
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    harness = Harness.for_settings(settings)
    print("starting Asterisk 22 (the first run builds its chroot, about a minute)...", flush=True)
    harness.up()
    settings = dataclasses.replace(settings, asterisk_root=str(harness.root))
    redis_url = urlparse(settings.redis_url)
    redis = RedisServer(settings.var_dir / "redis", redis_url.port or 6379)
    redis.up()
    accounts = _demo_accounts(settings)
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
    worker = _spawn(settings, "worker", "worker")
    api = _spawn(settings, "api", "api")
    events = _spawn(settings, "events", "events")
    print(
        f"FastAGI on {settings.agi_host}:{server.port}, Asterisk pid {harness.running_pid()}, "
        f"Redis on {redis.port}, worker pid {worker.pid}, API pid {api.pid}, "
        f"events listener pid {events.pid}",
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
        number = "05" + "".join(secrets.choice("0123456789") for _ in range(8))
        placed.append(simulator.call(script, caller_id=number))
        print(f"  calling: {description}", flush=True)
        time.sleep(0.5)
    failures = sum(not simulator.wait_ended(call, timeout_s=180) for call in placed)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # give the worker a moment to send the SMS
        with sessions() as session:
            if len(session.scalars(select(SmsMessage)).all()) >= len(placed):
                break
        time.sleep(0.5)
    print("\nrequests filed by these calls (and the SMS each requester got):")
    with sessions() as session:
        for call in placed:
            row = session.scalar(select(Call).where(Call.uniqueid == call.ivr_uniqueid))
            if row is None or row.request is None:
                failures += 1
                outcome = row.outcome.value if row else "never reached the IVR"
                print(f"  call {call.ivr_uniqueid}: no request ({outcome})")
                continue
            print("  " + format_request(row.request))
            for sms in session.scalars(
                select(SmsMessage).where(SmsMessage.request_id == row.request.id)
            ):
                print(f"      SMS {sms.status.value}: {sms.body}")
    print(f"\nconsole: http://127.0.0.1:{settings.api_port}/console/ (sign in with:)")
    print(f"agent API: http://127.0.0.1:{settings.api_port}/health")
    for username, password, role in accounts:
        print(f"  {role:<10} user {username!r} password {password!r}")
    if not accounts:
        print(f"  demo accounts: see {settings.var_dir / 'demo-accounts.txt'}")
    if stay:
        print(
            "\nthe IVR stays up; Ctrl-C stops the demo (Asterisk, worker and API too).", flush=True
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
    for process in (worker, api, events):
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    if stay:
        harness.down()
        redis.down()
    return 1 if failures else 0
