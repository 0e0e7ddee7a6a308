"""``tawasul demo``: real Asterisk, the FastAGI server, a worker, the agent API, scripted calls."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import secrets
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.prompts import PromptBuilder, load_catalogue
from ivr.simulator import INBOUND, Simulator, new_request_script, send_fax
from providers import build
from providers.ami import AMIClient, AMIError
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.db import make_engine, make_session_factory
from tawasul.ids import luhn_valid
from tawasul.masking import mask_national_id
from tawasul.migrate import upgrade
from tawasul.models import Call, Channel, Request, Role, SmsMessage, User
from tawasul.portal import sign
from tawasul_cli.agi import build_server
from tawasul_cli.asterisk import Harness
from tawasul_cli.commands import format_request, keygen
from tawasul_cli.lifecycle import wait_for_termination
from tawasul_cli.redis_server import RedisServer
from tawasul_cli.tls import with_demo_pair

log = logging.getLogger(__name__)

DEMO_USERS = (("agent", Role.AGENT), ("supervisor", Role.SUPERVISOR))
# Their phones are their console pages: endpoints 1001 and 1002 (tawasul.sip_accounts).
DEMO_EXTENSIONS = {Role.AGENT: "PJSIP/1001", Role.SUPERVISOR: "PJSIP/1002"}
# A caller who asks for an agent in English (2, then 3) and stays on the line ten minutes,
# beeping all along (SIM_VOICE) so the agent hears them in the page.
WAITING_CALLER = "w1/2/w2/3/w600"
WAITING_CALLER_VOICE = "on"


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
            scripts.append((f"Arabic caller, ID {masked}", new_request_script(national_id, "ar")))
        elif index % 3 == 1:
            scripts.append((f"English caller, ID {masked}", new_request_script(national_id)))
        else:
            typo = national_id[:-1] + str((int(national_id[-1]) + 1) % 10)
            scripts.append(
                (
                    "English caller who mistypes the ID once",
                    new_request_script(national_id, "en", mistyped=typo),
                )
            )
    return scripts


def _trusting(settings: Settings) -> ssl.SSLContext | None:
    """A client context that trusts the demo's self-signed certificate (and only it)."""
    return ssl.create_default_context(cafile=settings.tls_cert_file) if settings.tls else None


def _base_url(settings: Settings) -> str:
    return f"{'https' if settings.tls else 'http'}://127.0.0.1:{settings.api_port}"


def _http(
    url: str, body: bytes, headers: dict[str, str], context: ssl.SSLContext | None = None
) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310
        return dict(json.loads(answer.read() or b"{}"))


def _wait_for_api(base: str, context: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=2, context=context)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return  # 503 while a part is down: the API itself answers
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the agent API did not start: see var/logs/api.log")


def _other_channels(
    settings: Settings, accounts_file: Path, portal_key: str, ami: AMIClient, root: Path
) -> list[str]:
    """File one request per other channel: fax, telegram, walk-in, e-services portal."""
    from PIL import Image

    done = []
    send_fax(ami, root, pages=2, caller_id="0551234567")
    done.append("fax (2 pages) sent to the fax extension")
    base = _base_url(settings)
    tls = _trusting(settings)
    _wait_for_api(base, tls)
    username, password = next(
        (line.split()[0], line.split()[1])
        for line in accounts_file.read_text().splitlines()
        if line.split()[2] == "agent"
    )
    credentials = {"username": username, "password": password, "name": "demo"}
    token = _http(
        f"{base}/auth/token",
        json.dumps(credentials).encode(),
        {"Content-Type": "application/json"},
        tls,
    )["token"]
    auth = {"Authorization": f"Bearer {token}"}
    walk_in = {
        "channel": "manual",
        "national_id": demo_national_id(),
        "mobile": "0551112233",
        "language": "ar",
        "branch": settings.default_branch,
    }
    _http(
        f"{base}/requests",
        json.dumps(walk_in).encode(),
        {**auth, "Content-Type": "application/json"},
        tls,
    )
    done.append("walk-in entered by the agent")
    scan = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(scan, "PDF")
    boundary = secrets.token_hex(12)
    fields = {
        "channel": "telegram",
        "national_id": demo_national_id(),
        "mobile": "0552223344",
        "language": "ar",
        "branch": settings.default_branch,
    }
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="document"; '
        f'filename="telegram.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        + scan.getvalue()
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    _http(
        f"{base}/requests",
        b"".join(parts),
        {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        tls,
    )
    done.append("telegram entered with its scan")
    payload = {
        "portal_request_id": f"EP-{secrets.token_hex(6)}",
        "national_id": demo_national_id(),
        "mobile": "0553334455",
        "language": "en",
        "meeting_mode": "video",
    }
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    key_id, _, secret = portal_key.partition(":")
    _http(
        f"{base}/portal/requests",
        body,
        {
            "Content-Type": "application/json",
            "X-Portal-Key-Id": key_id,
            "X-Portal-Timestamp": stamp,
            "X-Portal-Signature": sign(secret.encode(), stamp, body),
        },
        tls,
    )
    done.append("e-services portal submission, signed")
    return done


def _portal_key(settings: Settings) -> str:
    """The demo portal's signing key, made once and kept in var/ (mode 600)."""
    path = settings.var_dir / "portal-demo.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"demo:{secrets.token_urlsafe(32)}")
    return path.read_text().strip()


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
            extension = DEMO_EXTENSIONS[role]
            service.create_user(
                session, NewUser(username, password, role, settings.default_branch, extension)
            )
            accounts.append((username, password, role.value))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(" ".join(account) + "\n" for account in accounts)
    return accounts


def filed_requests(session: Session, uniqueids: list[str], zone: tzinfo) -> tuple[list[str], int]:
    """What the demo prints of the requests its calls and the other channels filed, each with
    its time on the centre's clock (``zone``), and how many calls filed none."""
    lines = ["", "requests filed by these calls (and the SMS each requester got):"]
    missing = 0
    for uniqueid in uniqueids:
        row = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        if row is None or row.request is None:
            missing += 1
            outcome = row.outcome.value if row else "never reached the IVR"
            lines.append(f"  call {uniqueid}: no request ({outcome})")
            continue
        lines.append("  " + format_request(row.request, zone))
        for sms in session.scalars(
            select(SmsMessage).where(SmsMessage.request_id == row.request.id)
        ):
            lines.append(f"      SMS {sms.status.value}: {sms.body}")
    lines += ["", "and by the other channels:"]
    for request in session.scalars(
        select(Request).where(Request.channel != Channel.PHONE).order_by(Request.id)
    ):
        lines.append("  " + format_request(request, zone))
    return lines, missing


def _ready_agent(ami: AMIClient, queue: str) -> bool:
    """True when the queue has a member who is not paused and whose phone is registered."""
    try:
        events = ami.collect("QueueStatus", {"Queue": queue}, complete="QueueStatusComplete")
    except AMIError:
        return False
    # Status 5 is AST_DEVICE_UNAVAILABLE: a closed console tab is not an agent ready.
    return any(
        e.get("Event") == "QueueMember" and e.get("Paused") == "0" and e.get("Status") != "5"
        for e in events
    )


def _call_when_an_agent_is_ready(
    simulator: Simulator, ami: AMIClient, queue: str, stop: threading.Event
) -> None:
    """Place the waiting demo call once an agent is ready (the queue turns callers away while
    nobody is in it: they are offered a callback instead)."""
    while not stop.wait(1):
        if _ready_agent(ami, queue):
            simulator.call_into(
                INBOUND, WAITING_CALLER, {"SIM_VOICE": WAITING_CALLER_VOICE}, "0509876543"
            )
            print("  an agent is ready: the waiting demo caller is calling now", flush=True)
            return


def _spawn(settings: Settings, name: str, *arguments: str) -> subprocess.Popen[bytes]:
    logs = settings.var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TAWASUL_VAR_DIR": str(settings.var_dir),
        "TAWASUL_ASTERISK_ROOT": settings.asterisk_root,
        "TAWASUL_PORTAL_KEYS": _portal_key(settings),
        "TAWASUL_TLS_CERT_FILE": settings.tls_cert_file,
        "TAWASUL_TLS_KEY_FILE": settings.tls_key_file,
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
    settings = with_demo_pair(settings)  # the console and API over HTTPS, as in a centre
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
    ami = build.ami_client(settings, "demo").start()
    # The callers speak their voice messages (espeak-ng): a newcomer hears one in the console.
    simulator = Simulator(ami, harness.root)
    sessions = make_session_factory(engine)
    placed = []
    for description, script in _scripts(calls):
        number = "05" + "".join(secrets.choice("0123456789") for _ in range(8))
        placed.append(simulator.call(script, caller_id=number))
        print(f"  calling: {description}", flush=True)
        time.sleep(0.5)
    try:
        for line in _other_channels(
            settings,
            settings.var_dir / "demo-accounts.txt",
            _portal_key(settings),
            ami,
            harness.root,
        ):
            print(f"  {line}", flush=True)
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        print(f"  could not file the other channels' requests: {exc}", flush=True)
    failures = sum(not simulator.wait_ended(call, timeout_s=300) for call in placed)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # give the worker a moment to send the SMS
        with sessions() as session:
            if len(session.scalars(select(SmsMessage)).all()) >= len(placed):
                break
        time.sleep(0.5)
    time.sleep(3)  # the fax's request is filed when its call ends
    with sessions() as session:
        lines, missing = filed_requests(
            session, [call.ivr_uniqueid for call in placed], ZoneInfo(settings.timezone)
        )
    failures += missing
    print("\n".join(lines))
    print(f"\nconsole: {_base_url(settings)}/console/ (sign in with:)")
    print(f"agent API: {_base_url(settings)}/health")
    if settings.tls:
        print(f"  (self-signed certificate {settings.tls_cert_file}: the browser asks once)")
    for username, password, role in accounts:
        print(f"  {role:<10} user {username!r} password {password!r}")
    if not accounts:
        print(f"  demo accounts: see {settings.var_dir / 'demo-accounts.txt'}")
    stop = threading.Event()
    if stay:
        queue = f"tawasul-{settings.default_branch}"
        threading.Thread(
            target=_call_when_an_agent_is_ready,
            args=(simulator, ami, queue, stop),
            name="waiting-caller",
            daemon=True,
        ).start()
        print(
            "\none caller waits for an agent: sign in as the agent, allow the microphone and "
            "press Ready; the call rings in the page.",
            flush=True,
        )
        print(
            "\nthe IVR stays up; Ctrl-C stops the demo (Asterisk, worker and API too).", flush=True
        )
        wait_for_termination()
    stop.set()
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
