"""What a government call centre must be able to prove, against the real parts.

The AMI account can do what the application needs and nothing else, and listens on loopback;
hostile caller IDs and dialled numbers cannot steer the dialplan; and a canary run (real calls
with known national IDs and numbers, the worker and the API) leaves none of them in a log file,
in Redis's files or in Asterisk's logs.
"""

from __future__ import annotations

import dataclasses
import logging
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import select

from agent_api import create_app
from ivr.paths import SPOOL, host_path
from ivr.simulator import message_wait
from providers.ami import AMIActionError, AMIClient, AMIValueError, Message
from tawasul import security_log
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.masking import install_log_scrubbing
from tawasul.models import Call, CallOutcome, Request, Role, SecurityEvent, SmsMessage
from tawasul_cli.asterisk import ASTERISK_UID, Harness
from tawasul_cli.redis_server import RedisServer
from tests.helpers import Database
from tests.integration.support import (
    IVR,
    Phone,
    WorkerProcess,
    finished_call,
    wait_until,
    worker_env,
)
from tests.integration.test_phone_menu import CALLER, full_request_script

pytestmark = pytest.mark.asterisk


@pytest.mark.parametrize(
    "action, headers",
    [
        ("Command", {"Command": "core show version"}),
        ("GetConfig", {"Filename": "manager.conf"}),
        ("UpdateConfig", {"SrcFilename": "extensions.conf", "DstFilename": "extensions.conf"}),
        (
            "Originate",
            {"Channel": "Local/s@tawasul-inbound", "Application": "System", "Data": "id"},
        ),
    ],
)
def test_the_ami_account_is_refused_what_the_app_does_not_need(
    ami: AMIClient, action: str, headers: dict[str, str]
) -> None:
    with pytest.raises(AMIActionError, match="(?i)permission denied|forbidden"):
        ami.action(action, headers)


def test_ami_listens_on_loopback_only(asterisk: Harness) -> None:
    port = f"{asterisk.settings.ami_port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and local.endswith(":" + port):
                listening.append(local.split(":")[0])
    assert listening == ["0100007F"]  # 127.0.0.1, and nothing on any other address


def _dial_attempts(events: list[Message], uniqueid: str) -> list[Message]:
    return [
        e
        for e in events
        if e.get("Event") == "DialBegin"
        and e.get("Linkedid", "").startswith(uniqueid.split(".")[0])
    ]


@pytest.mark.parametrize("caller_id", ["1234&PJSIP/x", '"; System(id)', "0501234567;evil"])
def test_hostile_caller_ids_are_only_data(
    ivr: IVR, phone: Phone, ami: AMIClient, caller_id: str
) -> None:
    events: list[Message] = []
    remove = ami.add_listener(events.append)
    try:
        placed = phone.call("w2/h", caller_id=caller_id)
        phone.wait_hangup(placed)
        call = finished_call(ivr.database, placed.ivr_uniqueid)
    finally:
        remove()
    assert call.outcome == CallOutcome.HUNG_UP
    assert _dial_attempts(events, placed.caller_uniqueid) == []
    with ivr.database.sessions() as session:
        assert session.scalars(select(Request)).all() == []


def test_a_caller_id_with_a_line_break_never_reaches_asterisk(phone: Phone) -> None:
    with pytest.raises(AMIValueError):
        phone.call("w2/h", caller_id="0501234567\r\nAction: Command")


@pytest.mark.parametrize("dialled", ["00442071234567", "0501234567", "920012345"])
def test_the_inbound_context_reaches_the_ivr_and_nothing_else(
    ivr: IVR, phone: Phone, ami: AMIClient, dialled: str
) -> None:
    events: list[Message] = []
    remove = ami.add_listener(events.append)
    try:
        placed = phone.call_into(f"Local/{dialled}@tawasul-inbound/n", "w2/h", {})
        phone.wait_hangup(placed)
        call = finished_call(ivr.database, placed.ivr_uniqueid)
    finally:
        remove()
    assert call.outcome == CallOutcome.HUNG_UP  # the IVR answered it, as any caller
    assert _dial_attempts(events, placed.caller_uniqueid) == []


@pytest.mark.parametrize("dialled", ["+966501234567", "tawasul-callback", "s@tawasul-callback"])
def test_the_inbound_context_has_no_way_out(phone: Phone, ami: AMIClient, dialled: str) -> None:
    events: list[Message] = []
    remove = ami.add_listener(events.append)

    def answers() -> list[str]:
        return [
            e["Response"]
            for e in events
            if e.get("Event") == "OriginateResponse" and e.get("Uniqueid") == placed.caller_uniqueid
        ]

    try:
        placed = phone.call_into(f"Local/{dialled}@tawasul-inbound/n", "w2/h", {})
        wait_until(answers, 20, "Asterisk's answer to the call")
    finally:
        remove()
    assert answers() == ["Failure"]


CANARY_IDS = ("1000000008", "2000000006")
CANARY_NUMBERS = ("0555123456", "0555654321")
CANARY_HUNG_UP_ID = "1000000032"
"""A third caller, who hangs up two seconds into the voice message."""


def _spellings(number: str) -> list[str]:
    national = number[1:]
    return [number, national, "966" + national, "+966" + national]


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Everything this process logs (the FastAGI server, the API), as a production file would."""
    path = tmp_path / "process.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    install_log_scrubbing(root)
    yield path
    root.removeHandler(handler)
    root.setLevel(previous)
    handler.close()


def test_canary_personal_data_is_in_no_log_and_not_in_redis(
    ivr: IVR,
    phone: Phone,
    settings: Settings,
    asterisk: Harness,
    redis_server: RedisServer,
    redis: Redis,
    log_file: Path,
) -> None:
    settings = dataclasses.replace(settings, database_url=ivr.database.url)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    spool = host_path(ivr.settings, SPOOL)
    spooled_before = set(spool.rglob("*"))
    worker_log = settings.var_dir / "worker.log"
    worker = WorkerProcess(
        worker_env(settings, redis_server.url, database_url=ivr.database.url), worker_log
    ).start()
    try:
        placed = [
            phone.call(full_request_script(national_id), caller_id=number)
            for national_id, number in zip(CANARY_IDS, CANARY_NUMBERS, strict=True)
        ]
        until_message = full_request_script(CANARY_HUNG_UP_ID).split(f"/{message_wait('en')}/")
        placed.append(
            phone.call(f"{until_message[0]}/{message_wait('en', 2)}/h", caller_id=CANARY_NUMBERS[0])
        )
        for call in placed:
            phone.wait_hangup(call, timeout_s=180)
        owed = _requests_with_a_number(ivr)
        assert owed >= 1, "no canary call filed a request with a number to text"
        wait_until(lambda: _sms_count(ivr) >= owed, 120, "the worker to send the SMS")
    finally:
        worker.stop()

    with ivr.database.sessions() as session:
        service = AccountService(settings.branches)
        service.create_user(
            session, NewUser("canary-sup", "a-long-passphrase-1", Role.SUPERVISOR, "riyadh", None)
        )
    app = create_app(settings, sessions=ivr.database.sessions, test_config={"TESTING": True})
    client: FlaskClient = app.test_client()
    login = client.post(
        "/auth/token", json={"username": "canary-sup", "password": "a-long-passphrase-1"}
    )
    assert login.status_code in (200, 201), login.json
    headers = {"Authorization": f"Bearer {login.json['token']}"}
    listing = client.get("/requests", headers=headers)
    assert listing.status_code == 200
    for item in listing.json["items"]:
        assert client.get(f"/requests/{item['id']}", headers=headers).status_code == 200
    # A search by the last digits of a number works without the number in any URL or log.
    assert client.get("/requests?phone_last=3456", headers=headers).status_code == 200

    redis.bgsave()
    wait_until(lambda: redis.info("persistence")["rdb_bgsave_in_progress"] == 0, 30, "BGSAVE")
    searched: list[Path] = [log_file, worker_log]
    searched += [p for p in redis_server.directory.rglob("*") if p.is_file()]
    searched += [p for p in (asterisk.root / "var/log/asterisk").rglob("*") if p.is_file()]
    searched += [asterisk.console_log]
    # Asterisk records voice messages into its spool, in clear: none may be left there.
    left_in_spool = [p for p in spool.rglob("*") if p.is_file() and p not in spooled_before]
    assert [p for p in left_in_spool if p.read_bytes()[:4] == b"RIFF"] == []
    searched += left_in_spool
    secrets = [
        *CANARY_IDS,
        CANARY_HUNG_UP_ID,
        *[s for n in CANARY_NUMBERS for s in _spellings(n)],
    ]
    hits = [
        f"{path}: {secret}"
        for path in searched
        for secret in secrets
        if secret.encode() in path.read_bytes()
    ]
    assert hits == []
    assert log_file.stat().st_size > 0 and worker_log.stat().st_size > 0  # they did log


NOBODY = 65534
"""The ``nobody`` user and ``nogroup`` group of the chroot (Debian's)."""


def _as_user_in_chroot(asterisk: Harness, gid: int, *command: str) -> int:
    """Run ``command`` inside the chroot as ``nobody`` with only group ``gid``; its exit code."""
    userspec = [f"--userspec={NOBODY}:{gid}", f"--groups={gid}"]
    return subprocess.run(
        ["chroot", *userspec, str(asterisk.root), *command], capture_output=True, check=False
    ).returncode


def test_a_message_being_recorded_is_open_to_asterisk_and_its_group_only(
    ivr: IVR, phone: Phone, asterisk: Harness
) -> None:
    spool = host_path(ivr.settings, SPOOL)
    until_message = full_request_script().split(f"/{message_wait('en')}/")[0]
    placed = phone.call(f"{until_message}/{message_wait('en', 8)}/h", caller_id=CALLER)
    found: list[Path] = []

    def recording() -> bool:
        with ivr.database.sessions() as session:
            call_id = session.scalar(select(Call.id).where(Call.uniqueid == placed.ivr_uniqueid))
        wav = spool / f"call-{call_id}-request.wav"
        found[:] = [wav]
        return call_id is not None and wav.exists()

    try:
        wait_until(recording, 90, "Asterisk to record the message into its spool")
        # The directory where Asterisk writes the message in clear lets no one else in.
        mode = spool.stat()
        assert stat.S_IMODE(mode.st_mode) & 0o007 == 0, oct(mode.st_mode)
        assert (mode.st_uid, mode.st_gid) == (ASTERISK_UID, ASTERISK_UID)
        wav = PurePosixPath(SPOOL) / found[0].name
        # Anyone else cannot read it, nor list the directory.
        assert _as_user_in_chroot(asterisk, NOBODY, "test", "-r", str(wav)) != 0
        assert _as_user_in_chroot(asterisk, NOBODY, "ls", str(SPOOL)) != 0
        # Asterisk's group, where a FastAGI server's service user belongs, reads and removes.
        check = f"test -r {wav} && test -w {SPOOL} && test -x {SPOOL}"
        assert _as_user_in_chroot(asterisk, ASTERISK_UID, "sh", "-c", check) == 0
    finally:
        phone.wait_hangup(placed, timeout_s=120)
    assert not found[0].exists()  # and the hang-up left nothing behind


def _requests_with_a_number(ivr: IVR) -> int:
    with ivr.database.sessions() as session:
        return len(
            session.scalars(
                select(Request).where(Request.callback_number.is_not(None), ~Request.is_partial)
            ).all()
        )


def _sms_count(ivr: IVR) -> int:
    with ivr.database.sessions() as session:
        return len(session.scalars(select(SmsMessage)).all())


def test_a_refused_ami_action_is_a_security_event(ami: AMIClient, database: Database) -> None:
    writer = security_log.install(database.sessions)
    try:
        with pytest.raises(AMIActionError):
            ami.action("Command", {"Command": "core show channels"})
        assert writer.wait_stored()
        with database.sessions() as session:
            stored = session.scalars(select(SecurityEvent)).all()
        assert [(e.kind, e.actor, e.details["action"]) for e in stored] == [
            ("ami_refused", f"ami:{ami_username(ami)}", "Command")
        ]
    finally:
        security_log.LOGGER.removeHandler(writer)


def ami_username(ami: AMIClient) -> str:
    return ami._username  # the account the harness generated
