"""The staff's phones against the real Asterisk: endpoints generated from the accounts, desk
phones (pjsua2) that register with them and take queue calls, ring-no-answer, failed
registrations blocked per address, the transfer context, a supervisor listening in."""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pjsua2 as pj
import pytest
from sqlalchemy import select

from agent_api.live import LiveHub
from providers.ami import AMIActionError, AMIClient, Message
from providers.call_control import AmiCallControl
from providers.queue_members import AmiQueueMembership
from providers.sip_endpoints import AmiPjsipReloader, PjsipFilePublisher
from providers.sip_security import AmiCallSpy, SipSecurityListener
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.models import Role, SecurityEvent, User
from tawasul.pii import PiiProtector
from tawasul.presence import PresenceService
from tawasul.security_log import SecurityEventWriter
from tawasul.security_log import install as install_security_log
from tawasul.sip_accounts import EndpointSync, SipAccounts, SipDevice
from tawasul.sip_guard import RegistrationGuard
from tawasul.supervision import SpyMode, Supervision
from tawasul_cli.asterisk import ACCOUNTS_FILE, CONFIG_DIR, Harness
from tests.helpers import Database
from tests.integration.pjsua_phone import DeskPhone
from tests.integration.support import TEST_SIP_PORT, Phone, wait_until

pytestmark = pytest.mark.asterisk
SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
"""One backend is enough here: what is tested is Asterisk's side."""

PASSWORD = "a-long-login-password"
LAB = "tawasul-lab"
RINGTEST = "tawasul-ringtest"


@dataclasses.dataclass
class Centre:
    """Accounts in a test database, published to the test Asterisk."""

    database: Database
    accounts: AccountService
    sip: SipAccounts
    sync: EndpointSync
    guard: RegistrationGuard
    publisher: PjsipFilePublisher

    def open(self, username: str, extension: str, role: Role = Role.AGENT) -> User:
        with self.database.sessions() as session:
            user = self.accounts.create_user(
                session, NewUser(username, PASSWORD, role, "riyadh", f"PJSIP/{extension}")
            )
            session.expunge(user)
            return user

    def password(self, user_id: int, device: SipDevice = SipDevice.SIP) -> str:
        with self.database.sessions() as session:
            user = session.get(User, user_id)
            assert user is not None
            self.sip.set_device(session, user, device)
            return self.sip.credentials(session, user).password

    def deactivate(self, user_id: int) -> None:
        with self.database.sessions() as session:
            self.accounts.update_user(session, user_id, is_active=False)


@pytest.fixture
def centre(
    asterisk: Harness, database: Database, pii: PiiProtector, ami: AMIClient
) -> Iterator[Centre]:
    settings = asterisk.settings
    reloader = AmiPjsipReloader(
        "127.0.0.1", settings.ami_port, settings.ami_reload_username, asterisk.ami_reload_secret()
    )
    publisher = PjsipFilePublisher(
        asterisk.root / CONFIG_DIR.lstrip("/") / ACCOUNTS_FILE, reloader, Settings().branches
    )
    guard = RegistrationGuard(threshold=3, window_s=60, block_s=600)
    sip = SipAccounts(pii)
    sync = EndpointSync(database.sessions, sip, publisher, blocked=guard.blocked)
    remove = ami.add_listener(SipSecurityListener(guard))
    yield Centre(database, AccountService(Settings().branches), sip, sync, guard, publisher)
    remove()
    guard.forgive()
    publisher.publish([], [])  # the next test starts from no endpoints


@pytest.fixture
def phones() -> Iterator[list[DeskPhone]]:
    made: list[DeskPhone] = []
    yield made
    for phone in made:
        phone.close()


def _endpoint(asterisk: Harness, name: str) -> str:
    return asterisk.cli(f"pjsip show endpoint {name}")


def _member_ready(
    asterisk: Harness, membership: AmiQueueMembership, queue: str, interface: str, desk: DeskPhone
) -> None:
    """Wait until the queue can ring the member: added, not paused, its device available (the
    phone registered and answering Asterisk's qualify), as an agent's is before a call comes.
    A failure says what Asterisk thought of the member and its phone."""

    def ready() -> bool:
        member = membership.member(queue, interface)
        return member is not None and member.available and not member.paused

    try:
        desk.wait(ready, 20, f"{interface} ready in {queue}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_seen_by_asterisk(asterisk, queue)}") from exc


def _seen_by_asterisk(asterisk: Harness, queue: str) -> str:
    """The queue's members and every phone's contact, as Asterisk has them (for a failure)."""
    return asterisk.cli(f"queue show {queue}") + asterisk.cli("pjsip show contacts")


@SQLITE
def test_endpoints_are_generated_from_the_accounts(asterisk: Harness, centre: Centre) -> None:
    agent = centre.open("amal", "1101")
    centre.open("noor", "1102")
    assert centre.sync.sync()
    shown = _endpoint(asterisk, "1101")
    assert "tawasul-agents" in shown  # the staff context
    assert "dtls" in shown and "opus" in shown  # WebRTC: DTLS-SRTP, opus first
    generated = centre.publisher.path.read_text()
    password = centre.password(agent.id, SipDevice.WEBRTC)
    assert password not in generated and PASSWORD not in generated  # only HA1 in the file
    assert not centre.sync.sync()  # nothing changed: no rewrite, no reload

    centre.deactivate(agent.id)
    assert centre.sync.sync()
    assert "Unable to find object 1101" in _endpoint(asterisk, "1101")
    assert "tawasul-agents" in _endpoint(asterisk, "1102")


def test_the_reload_user_may_reload_res_pjsip_and_nothing_else(asterisk: Harness) -> None:
    settings = asterisk.settings
    client = AMIClient(
        "127.0.0.1",
        settings.ami_port,
        settings.ami_reload_username,
        asterisk.ami_reload_secret(),
        events=False,
    )
    client.start()
    try:
        client.action("Reload", {"Module": "res_pjsip.so"})
        with pytest.raises(AMIActionError):
            client.originate("Local/s@tawasul-simulated-phones", application="System", data="id")
        with pytest.raises(AMIActionError):
            client.action("Command", {"Command": "core show version"})
        with pytest.raises(AMIActionError):
            client.action("UpdateConfig", {"SrcFilename": "pjsip.conf", "DstFilename": "x.conf"})
    finally:
        client.close()


@SQLITE
def test_a_desk_phone_registers_and_answers_a_queue_call_until_disabled(
    asterisk: Harness, centre: Centre, ami: AMIClient, phone: Phone, phones: list[DeskPhone]
) -> None:
    agent = centre.open("hala", "1111")
    password = centre.password(agent.id)
    centre.sync.sync()
    desk = DeskPhone("1111", password, TEST_SIP_PORT)
    phones.append(desk)
    desk.wait(lambda: desk.registered, 10, "registration")

    membership = AmiQueueMembership(ami)
    hub = LiveHub(centre.database.sessions, PresenceService(membership), after_call_work_s=10)
    _, stream = hub.subscribe(agent, all_branches=False)
    remove = ami.add_listener(hub.on_ami_event)
    membership.add(LAB, "PJSIP/1111", "hala", paused=False)
    try:
        member = membership.member(LAB, "PJSIP/1111")
        assert member is not None and member.available  # the registered phone can be rung
        placed = phone.call_into("Local/s@tawasul-simulated-queue/n", "w30", {"SIM_QUEUE": LAB})
        desk.wait(lambda: any(c.state == "confirmed" for c in desk.calls), 20, "the queue call")
        desk.hang_up()
        # The agent's stream: a screen-pop naming the call, then its wrap-up.
        events: dict[str, dict[str, object]] = {}
        while "wrap_up" not in events:
            name, data = stream.inbox.get(timeout=10)
            events[name] = data
        assert events["screen_pop"]["call"] == placed.ivr_uniqueid
        assert events["wrap_up"]["call"] == placed.ivr_uniqueid
        assert events["wrap_up"]["after_call_work_s"] == 10

        # Disabled: the endpoint is gone, so the same credentials are refused and the queue
        # member's device is unavailable (never rung).
        centre.deactivate(agent.id)
        centre.sync.sync()
        before = desk.registrations
        desk.register_again()
        desk.wait(lambda: desk.registrations > before, 10, "the refused registration")
        assert not desk.registered and desk.last_status in (401, 403), desk.last_status

        def unavailable() -> bool:
            found = membership.member(LAB, "PJSIP/1111")
            return found is not None and not found.available

        wait_until(unavailable, 10, "the disabled phone to be unavailable to the queue")
    finally:
        remove()
        membership.remove(LAB, "PJSIP/1111")


@SQLITE
def test_a_queue_call_that_rings_out_pauses_the_agent_with_the_reason(
    asterisk: Harness, centre: Centre, ami: AMIClient, phone: Phone, phones: list[DeskPhone]
) -> None:
    agent = centre.open("rana", "1121")
    password = centre.password(agent.id)
    centre.sync.sync()
    desk = DeskPhone("1121", password, TEST_SIP_PORT, auto_answer=False)
    phones.append(desk)
    desk.wait(lambda: desk.registered, 10, "registration")
    membership = AmiQueueMembership(ami)
    hub = LiveHub(centre.database.sessions, PresenceService(membership))
    _, stream = hub.subscribe(agent, all_branches=False)
    remove = ami.add_listener(hub.on_ami_event)
    membership.add(RINGTEST, "PJSIP/1121", "rana", paused=False)
    try:
        _member_ready(asterisk, membership, RINGTEST, "PJSIP/1121", desk)
        phone.call_into("Local/s@tawasul-simulated-queue/n", "w30", {"SIM_QUEUE": RINGTEST})
        desk.wait(lambda: bool(desk.calls), 10, "the queue call to ring")

        def paused() -> bool:
            member = membership.member(RINGTEST, "PJSIP/1121")
            return member is not None and member.paused and member.reason == "missed-call"

        wait_until(paused, 15, "the agent to be paused for the missed call")
        # The agent's page is told why.
        told = []
        while not told:
            name, data = stream.inbox.get(timeout=10)
            if name == "presence" and data.get("missed_call"):
                told.append(data)
        assert told[0]["reason"] == "missed-call" and told[0]["queue"] == RINGTEST
    finally:
        remove()
        membership.remove(RINGTEST, "PJSIP/1121")


@SQLITE
def test_repeated_wrong_passwords_are_logged_and_block_the_address(
    asterisk: Harness, centre: Centre, phones: list[DeskPhone]
) -> None:
    writer: SecurityEventWriter = install_security_log(centre.database.sessions)
    agent = centre.open("sara", "1131")
    password = centre.password(agent.id)
    centre.sync.sync()
    guard = centre.guard
    guard.notify(centre.sync.sync)  # published at once (the API's thread does it soon)

    intruder = DeskPhone("1131", "not-the-password", TEST_SIP_PORT, address="127.0.0.3")
    phones.append(intruder)
    for attempt in range(3):
        before = intruder.registrations
        if attempt:
            intruder.register_again()
        intruder.wait(lambda b=before: intruder.registrations > b, 10, "a refused registration")
        assert not intruder.registered
    wait_until(lambda: guard.blocked() == ["127.0.0.3"], 10, "the address to be blocked")

    # The right password from the blocked address is refused too; from another it works.
    blocked = DeskPhone("1131", password, TEST_SIP_PORT, address="127.0.0.3")
    phones.append(blocked)
    elsewhere = DeskPhone("1131", password, TEST_SIP_PORT, address="127.0.0.4")
    phones.append(elsewhere)
    elsewhere.wait(lambda: elsewhere.registered, 10, "registration from another address")
    assert not blocked.registered

    assert writer.wait_stored()
    with centre.database.sessions() as session:
        events = list(session.scalars(select(SecurityEvent)))
    failures = [e for e in events if e.kind == "sip_auth_failed"]
    assert len(failures) >= 3
    assert all(e.actor == "sip:127.0.0.x" for e in failures)  # the address masked
    assert any(e.kind == "sip_address_blocked" for e in events)


@SQLITE
def test_staff_phones_reach_staff_and_queues_but_no_outside_number(
    asterisk: Harness, centre: Centre, ami: AMIClient, phones: list[DeskPhone]
) -> None:
    caller = centre.open("lina", "1141")
    callee = centre.open("maha", "1142")
    passwords = [centre.password(caller.id), centre.password(callee.id)]
    centre.sync.sync()
    caller_phone = DeskPhone("1141", passwords[0], TEST_SIP_PORT)
    phones.append(caller_phone)
    callee_phone = DeskPhone("1142", passwords[1], TEST_SIP_PORT)
    phones.append(callee_phone)
    for desk in (caller_phone, callee_phone):
        desk.wait(lambda d=desk: d.registered, 10, "registration")

    caller_phone.call(f"sip:1142@127.0.0.1:{TEST_SIP_PORT}")
    callee_phone.wait(lambda: bool(callee_phone.calls), 10, "the staff call")
    callee_phone.wait(lambda: callee_phone.calls[0].confirmed, 10, "the staff call answered")
    caller_phone.hang_up()
    # A branch queue (where a blind transfer to "queue-<branch>" sends the caller).
    membership = AmiQueueMembership(ami)
    membership.add("tawasul-jeddah", "PJSIP/1142", "maha", paused=False)
    try:
        caller_phone.call(f"sip:queue-jeddah@127.0.0.1:{TEST_SIP_PORT}")
        callee_phone.wait(lambda: len(callee_phone.calls) == 2, 10, "the queue to ring")
        caller_phone.hang_up()
    finally:
        membership.remove("tawasul-jeddah", "PJSIP/1142")

    # Outside numbers, the IVR's test phone, a short code, a queue that is no branch's, an
    # extension nobody has: they do not exist (404), so no channel is even made.
    created: list[str] = []
    remove = ami.add_listener(
        lambda e: created.append(e.get("Channel", "")) if e.get("Event") == "Newchannel" else None
    )
    try:
        for number in ("0501234567", "+966501234567", "100", "tester", "queue-lab", "1143"):
            caller_phone.call(f"sip:{number}@127.0.0.1:{TEST_SIP_PORT}")
            attempt = caller_phone.calls[-1]
            wait_until(lambda a=attempt: a.state == "disconnected", 10, f"{number} to end")
            assert not attempt.confirmed, number
    finally:
        remove()
    assert created == [], created  # refused before any channel exists


@SQLITE
def test_a_supervisor_whispers_to_the_agent_only_and_barges_in_for_both(
    asterisk: Harness,
    centre: Centre,
    ami: AMIClient,
    phone: Phone,
    phones: list[DeskPhone],
    tmp_path: Path,
) -> None:
    tone = tmp_path / "speech.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(tone), "synth", "30", "sine", "440"],
        check=True,
    )
    agent = centre.open("dana", "1151")
    supervisor = centre.open("huda", "1152", Role.SUPERVISOR)
    passwords = [centre.password(agent.id), centre.password(supervisor.id)]
    centre.sync.sync()
    agent_phone = DeskPhone("1151", passwords[0], TEST_SIP_PORT)
    phones.append(agent_phone)
    supervisor_phone = DeskPhone("1152", passwords[1], TEST_SIP_PORT, tone=tone)
    phones.append(supervisor_phone)
    for desk in (agent_phone, supervisor_phone):
        desk.wait(lambda d=desk: d.registered, 10, "registration")
    events: list[Message] = []
    remove = ami.add_listener(
        lambda e: (
            events.append(e) if e.get("Event") in ("ChanSpyStart", "ChannelTalkingStart") else None
        )
    )
    membership = AmiQueueMembership(ami)
    membership.add(LAB, "PJSIP/1151", "dana", paused=False)
    try:
        placed = phone.call_into(
            "Local/s@tawasul-simulated-queue/n", "w60", {"SIM_QUEUE": LAB, "SIM_TALK_DETECT": "1"}
        )
        agent_phone.wait(
            lambda: any(c.state == "confirmed" for c in agent_phone.calls), 20, "the queue call"
        )

        def caller_heard() -> bool:
            return any(
                e.get("Event") == "ChannelTalkingStart"
                and e.get("Uniqueid") == placed.caller_uniqueid
                for e in events
            )

        def spy(mode: SpyMode) -> None:
            events.clear()
            with centre.database.sessions() as session:
                me = session.get(User, supervisor.id)
                assert me is not None
                Supervision(AmiCallSpy(ami)).spy(session, me, agent.id, mode)
            wait_until(
                lambda: any(e.get("Event") == "ChanSpyStart" for e in events),
                20,
                f"{mode} to start",
            )
            started = next(e for e in events if e.get("Event") == "ChanSpyStart")
            assert started["SpyeeChannel"].startswith("PJSIP/1151-")  # the agent's leg only
            assert started["SpyerChannel"].startswith("PJSIP/1152-")

        # Whisper: the supervisor's voice goes to the agent, never to the caller.
        spy(SpyMode.WHISPER)
        supervisor_phone.wait(
            lambda: supervisor_phone.calls[-1].player is not None, 10, "the supervisor to speak"
        )
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            assert not caller_heard(), "the caller heard a whisper"
            time.sleep(0.1)
        supervisor_phone.hang_up()

        # Barge: the same voice reaches the caller (the check above can see it).
        spy(SpyMode.BARGE)
        wait_until(caller_heard, 10, "the caller to hear the barging supervisor")
    finally:
        remove()
        membership.remove(LAB, "PJSIP/1151")


@SQLITE
def test_a_rotated_secret_replaces_the_old_one_and_the_reload_keeps_other_phones(
    asterisk: Harness, centre: Centre, phones: list[DeskPhone]
) -> None:
    first = centre.open("salma", "1161")
    second = centre.open("reem", "1162")
    old_password, other = centre.password(first.id), centre.password(second.id)
    centre.sync.sync()
    rotated_phone = DeskPhone("1161", old_password, TEST_SIP_PORT)
    phones.append(rotated_phone)
    kept = DeskPhone("1162", other, TEST_SIP_PORT)
    phones.append(kept)
    for desk in (rotated_phone, kept):
        desk.wait(lambda d=desk: d.registered, 10, "registration")

    with centre.database.sessions() as session:
        user = session.get(User, first.id)
        assert user is not None
        new_password = centre.sip.rotate(session, user, "user:1").password
    assert centre.sync.sync()

    assert "1162/sip:1162@127.0.0.1" in asterisk.cli("pjsip show contacts")  # still registered
    before = rotated_phone.registrations
    rotated_phone.register_again()
    rotated_phone.wait(lambda: rotated_phone.registrations > before, 10, "the old secret")
    assert not rotated_phone.registered and rotated_phone.last_status == 401
    renewed = DeskPhone("1161", new_password, TEST_SIP_PORT, address="127.0.0.5")
    phones.append(renewed)
    renewed.wait(lambda: renewed.registered, 10, "registration with the new secret")


@SQLITE
def test_click_to_call_tells_the_agent_s_phone_to_answer_by_itself(
    asterisk: Harness, centre: Centre, ami: AMIClient, phones: list[DeskPhone]
) -> None:
    agent = centre.open("wafa", "1171")
    password = centre.password(agent.id)
    centre.sync.sync()
    desk = DeskPhone("1171", password, TEST_SIP_PORT)
    phones.append(desk)
    desk.wait(lambda: desk.registered, 10, "registration")

    leg = AmiCallControl(ami, auto_answer=True).connect("PJSIP/1171", "+966501234567", {}, 30)
    assert leg.connected, leg
    assert "Call-Info: <sip:tawasul>;answer-after=0" in desk.invites[0]
    assert "X-Tawasul-Call: click-to-call" in desk.invites[0]
    desk.hang_up()

    # A callback the agent did not ask for just now rings as any call does.
    assert AmiCallControl(ami).connect("PJSIP/1171", "+966501234567", {}, 30).connected
    assert "answer-after" not in desk.invites[1]


@SQLITE
def test_a_blind_transfer_reaches_another_agent_and_never_an_outside_number(
    asterisk: Harness, centre: Centre, ami: AMIClient, phone: Phone, phones: list[DeskPhone]
) -> None:
    first = centre.open("abir", "1181")
    second = centre.open("bushra", "1182")
    passwords = [centre.password(first.id), centre.password(second.id)]
    centre.sync.sync()
    first_phone = DeskPhone("1181", passwords[0], TEST_SIP_PORT)
    phones.append(first_phone)
    second_phone = DeskPhone("1182", passwords[1], TEST_SIP_PORT)
    phones.append(second_phone)
    for desk in (first_phone, second_phone):
        desk.wait(lambda d=desk: d.registered, 10, "registration")
    created: list[str] = []
    remove = ami.add_listener(
        lambda e: created.append(e.get("Channel", "")) if e.get("Event") == "Newchannel" else None
    )
    membership = AmiQueueMembership(ami)
    membership.add(LAB, "PJSIP/1181", "abir", paused=False)
    try:
        placed = phone.call_into("Local/s@tawasul-simulated-queue/n", "w60", {"SIM_QUEUE": LAB})
        first_phone.wait(
            lambda: any(c.state == "confirmed" for c in first_phone.calls), 20, "the queue call"
        )
        # An outside number: the transfer fails and the caller stays with the first agent.
        call = first_phone.calls[-1]
        for outside in ("0501234567", "+966501234567", "tester"):
            created.clear()
            call.transfer_status.clear()
            call.xfer(f"sip:{outside}@127.0.0.1:{TEST_SIP_PORT}", pj.CallOpParam())
            wait_until(lambda: bool(call.transfer_status), 10, f"the transfer to {outside}")
            assert call.transfer_status[-1] >= 400, (outside, call.transfer_status)
            assert created == [], created  # nothing was dialled
        assert not phone.wait_ended(placed, 1)  # the caller is still on the line
        # Another agent: the caller is handed over and the second phone answers.
        first_phone.calls[-1].xfer(f"sip:1182@127.0.0.1:{TEST_SIP_PORT}", pj.CallOpParam())
        second_phone.wait(
            lambda: any(c.confirmed for c in second_phone.calls), 20, "the transferred call"
        )
        assert not phone.wait_ended(placed, 1)
    finally:
        remove()
        membership.remove(LAB, "PJSIP/1181")


@SQLITE
def test_after_call_work_keeps_the_next_call_away_for_its_time_then_the_agent_is_rung(
    asterisk: Harness, centre: Centre, ami: AMIClient, phone: Phone, phones: list[DeskPhone]
) -> None:
    agent = centre.open("ghada", "1191")
    password = centre.password(agent.id)
    centre.sync.sync()
    desk = DeskPhone("1191", password, TEST_SIP_PORT)
    phones.append(desk)
    desk.wait(lambda: desk.registered, 10, "registration")
    queue = "tawasul-medina"  # a branch queue: wrapuptime = Settings.after_call_work_s
    membership = AmiQueueMembership(ami)
    membership.add(queue, "PJSIP/1191", "ghada", paused=False)
    try:
        _member_ready(asterisk, membership, queue, "PJSIP/1191", desk)
        phone.call_into("Local/s@tawasul-simulated-queue/n", "w60", {"SIM_QUEUE": queue})
        desk.wait(lambda: any(c.confirmed for c in desk.calls), 20, "the first call")
        desk.hang_up()
        ended = time.monotonic()
        offered = len(desk.calls)
        phone.call_into("Local/s@tawasul-simulated-queue/n", "w60", {"SIM_QUEUE": queue})
        try:
            desk.wait(lambda: len(desk.calls) > offered, 30, "the next call after the wrap-up")
        except AssertionError as exc:  # say what Asterisk thought of the member and its phone
            calls = [c.state for c in desk.calls]
            raise AssertionError(
                f"{exc}; calls {calls}\n{_seen_by_asterisk(asterisk, queue)}"
            ) from exc
        waited = time.monotonic() - ended
        after_call_work_s = Settings().after_call_work_s
        assert after_call_work_s - 1 <= waited <= after_call_work_s + 8, waited
        member = membership.member(queue, "PJSIP/1191")
        assert member is not None and not member.paused  # ready again by itself
    finally:
        membership.remove(queue, "PJSIP/1191")
