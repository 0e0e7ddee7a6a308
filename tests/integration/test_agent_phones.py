"""The staff's phones against the real Asterisk: endpoints generated from the accounts, desk
phones (pjsua2) that register with them and take queue calls, ring-no-answer, failed
registrations blocked per address, the transfer context, a supervisor listening in."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from agent_api.live import LiveHub
from providers.ami import AMIClient, Message
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

pytestmark = [pytest.mark.asterisk, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]

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
    publisher = PjsipFilePublisher(asterisk.root / CONFIG_DIR.lstrip("/") / ACCOUNTS_FILE, reloader)
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
    membership.add(LAB, "PJSIP/1111", "hala", paused=False)
    try:
        phone.call_into("Local/s@tawasul-simulated-queue/n", "w30", {"SIM_QUEUE": LAB})
        desk.wait(lambda: any(c.state == "confirmed" for c in desk.calls), 20, "the queue call")
        desk.hang_up()
    finally:
        membership.remove(LAB, "PJSIP/1111")

    # Disabled: the endpoint is gone, so the same credentials are refused.
    centre.deactivate(agent.id)
    centre.sync.sync()
    before = desk.registrations
    desk.register_again()
    desk.wait(lambda: desk.registrations > before, 10, "the refused registration")
    assert not desk.registered and desk.last_status in (401, 403), desk.last_status


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
    remove = ami.add_listener(hub.on_ami_event)
    membership.add(RINGTEST, "PJSIP/1121", "rana", paused=False)
    try:
        phone.call_into("Local/s@tawasul-simulated-queue/n", "w30", {"SIM_QUEUE": RINGTEST})
        desk.wait(lambda: bool(desk.calls), 10, "the queue call to ring")

        def paused() -> bool:
            member = membership.member(RINGTEST, "PJSIP/1121")
            return member is not None and member.paused and member.reason == "missed-call"

        wait_until(paused, 15, "the agent to be paused for the missed call")
    finally:
        remove()
        membership.remove(RINGTEST, "PJSIP/1121")


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


def test_staff_phones_reach_staff_and_queues_but_no_outside_number(
    asterisk: Harness, centre: Centre, ami: AMIClient, phones: list[DeskPhone]
) -> None:
    caller = centre.open("lina", "1141")
    callee = centre.open("maha", "1142")
    caller_phone = DeskPhone("1141", centre.password(caller.id), TEST_SIP_PORT)
    phones.append(caller_phone)
    callee_phone = DeskPhone("1142", centre.password(callee.id), TEST_SIP_PORT)
    phones.append(callee_phone)
    centre.sync.sync()
    for desk in (caller_phone, callee_phone):
        desk.register_again()
        desk.wait(lambda d=desk: d.registered, 10, "registration")

    caller_phone.call(f"sip:1142@127.0.0.1:{TEST_SIP_PORT}")
    callee_phone.wait(lambda: bool(callee_phone.calls), 10, "the staff call")
    caller_phone.hang_up()

    refused: list[Message] = []
    remove = ami.add_listener(
        lambda e: refused.append(e) if e.get("UserEvent") == "TawasulStaffCallRefused" else None
    )
    try:
        for number in ("0501234567", "+966501234567", "100", "tester"):
            caller_phone.call(f"sip:{number}@127.0.0.1:{TEST_SIP_PORT}")
            count = len(refused)
            wait_until(lambda c=count: len(refused) > c, 10, f"{number} to be refused")
            caller_phone.hang_up()
    finally:
        remove()


def test_a_supervisor_listens_in_from_their_own_phone(
    asterisk: Harness,
    centre: Centre,
    ami: AMIClient,
    phone: Phone,
    phones: list[DeskPhone],
    tmp_path: Path,
) -> None:
    agent = centre.open("dana", "1151")
    supervisor = centre.open("huda", "1152", Role.SUPERVISOR)
    agent_phone = DeskPhone("1151", centre.password(agent.id), TEST_SIP_PORT)
    phones.append(agent_phone)
    supervisor_phone = DeskPhone("1152", centre.password(supervisor.id), TEST_SIP_PORT)
    phones.append(supervisor_phone)
    centre.sync.sync()
    for desk in (agent_phone, supervisor_phone):
        desk.register_again()
        desk.wait(lambda d=desk: d.registered, 10, "registration")
    membership = AmiQueueMembership(ami)
    membership.add(LAB, "PJSIP/1151", "dana", paused=False)
    try:
        phone.call_into("Local/s@tawasul-simulated-queue/n", "w30", {"SIM_QUEUE": LAB})
        agent_phone.wait(
            lambda: any(c.state == "confirmed" for c in agent_phone.calls), 20, "the queue call"
        )
        spying: list[Message] = []
        remove = ami.add_listener(
            lambda e: spying.append(e) if e.get("Event") == "ChanSpyStart" else None
        )
        try:
            with centre.database.sessions() as session:
                me = session.get(User, supervisor.id)
                assert me is not None
                Supervision(AmiCallSpy(ami)).spy(session, me, agent.id, SpyMode.WHISPER)
            wait_until(lambda: bool(spying), 20, "ChanSpy to start on the agent's call")
        finally:
            remove()
        assert spying[0]["SpyeeChannel"].startswith("PJSIP/1151-")
        assert spying[0]["SpyerChannel"].startswith("PJSIP/1152-")
    finally:
        membership.remove(LAB, "PJSIP/1151")
