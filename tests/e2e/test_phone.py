"""The phone in the console, with real media: Chromium (fake microphone) registers the agent's
WebRTC endpoint with the test Asterisk and takes, holds, transfers and wraps up real calls.

WebRTC offers no ICE candidate on loopback, so Chromium runs in a network namespace the module
makes (``tests/e2e/media_network.py``) and reaches the console and Asterisk's WebSocket over a
veth pair in 198.18.0.0/15. One Asterisk (the session's) and one browser for the module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from agent_api import create_app
from ivr.simulator import INBOUND, PlacedCall
from providers.ami import AMIActionError, AMIClient, Message
from providers.call_control import AmiCallControl
from providers.queue_members import AmiQueueMembership
from providers.sip_endpoints import AmiPjsipReloader, PjsipFilePublisher
from providers.sip_security import AmiCallSpy
from tawasul.accounts import AccountService, NewUser
from tawasul.config import Settings
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import Call, Language, Role, User
from tawasul.pii import PiiProtector
from tawasul_cli.asterisk import ACCOUNTS_FILE, CONFIG_DIR, Harness
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, CONSOLE_PORT, PASSWORD
from tests.e2e.conftest import Page as ConsolePage
from tests.e2e.media_network import MediaNetwork, media_network, netns_unavailable
from tests.helpers import Database
from tests.integration.support import IVR, TEST_HTTP_PORT, Phone, wait_until

pytestmark = [pytest.mark.asterisk, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]

QUEUE = "tawasul-riyadh"
AGENT, SECOND_AGENT, SUPERVISOR = "1201", "1202", "1203"
# English (2 during the notice), 3 for an agent, then on the line for two minutes; the caller
# beeps all along, and AMI says whenever the caller hears something (TALK_DETECT).
ASKS_FOR_AN_AGENT = "w1/2/w2/3/w120"
CALLER_VOICE = "on"
# A requester's number the simulated phones answer and talk on (beeps) for 60 s.
TALKING_REQUESTER = "+966501234567"

# Every RTCPeerConnection the page makes, for getStats() from the test.
RECORD_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.peerConnections = [];
  window.RTCPeerConnection = function (...args) {
    const connection = new Native(...args);
    window.peerConnections.push(connection);
    return connection;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""
INBOUND_PACKETS = """
async () => {
  const open = window.peerConnections.filter((c) => c.connectionState !== "closed");
  if (!open.length) return -1;
  let packets = 0;
  (await open[open.length - 1].getStats()).forEach((entry) => {
    if (entry.type === "inbound-rtp" && entry.kind === "audio") packets += entry.packetsReceived;
  });
  return packets;
}
"""


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaNetwork]:
    """The module's network namespace, veth pair and forwarders (removed at the end)."""
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(f"the phone's media tests need a network namespace: {reason}")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup-system.sh installs it)")
    with media_network(tmp_path_factory.mktemp("netns"), CHROMIUM) as network:
        forwarders = [network.forward(CONSOLE_PORT), network.forward(TEST_HTTP_PORT)]
        yield network
        for forwarder in forwarders:
            forwarder.stop()


@pytest.fixture(scope="module")
def phone_browser(
    media: MediaNetwork, tmp_path_factory: pytest.TempPathFactory, playwright_driver: Any
) -> Iterator[Any]:
    """Chromium inside the namespace: a fake microphone that speaks, no permission prompts."""
    # The staff's "voice": 1 s of tone, then 3 s of quiet (more than the 2.5 s of silence that
    # ends TALK_DETECT's talking), so every second the far end hears a new start of talking.
    voice = tmp_path_factory.mktemp("voice") / "voice.wav"
    subprocess.run(
        ["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(voice)]
        + ["synth", "1", "sine", "1000", "vol", "0.5", "pad", "0", "3"],
        check=True,
    )
    browser = playwright_driver.chromium.launch(
        executable_path=str(media.chromium),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={voice}",
            "--autoplay-policy=no-user-gesture-required",
            # The microphone is for secure pages; the console is plain HTTP on the test link.
            f"--unsafely-treat-insecure-origin-as-secure=http://{media.host_address}:{CONSOLE_PORT}",
        ],
    )
    yield browser
    browser.close()


@dataclass
class Ears:
    """What callers hear, from AMI's ChannelTalkingStart on channels with TALK_DETECT set."""

    heard: list[tuple[float, str, str]] = field(default_factory=list)
    events: list[tuple[float, str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_event(self, event: Message) -> None:
        name = event.get("Event", "")
        if name in ("ChannelTalkingStart", "ChannelTalkingStop"):
            with self.lock:
                self.events.append(
                    (time.monotonic(), event.get("Uniqueid", ""), event.get("Channel", ""), name)
                )
        if name == "ChannelTalkingStart":
            with self.lock:
                self.heard.append(
                    (time.monotonic(), event.get("Uniqueid", ""), event.get("Channel", ""))
                )

    def since(self, moment: float, who: str) -> bool:
        """Whether ``who`` (a uniqueid or a part of a channel name) heard anything since then."""
        with self.lock:
            return any(at >= moment and who in (uid, channel) for at, uid, channel in self.heard)

    def talking(self, who: str) -> bool:
        """Whether ``who``'s last event was a start of talking (it hears something now)."""
        with self.lock:
            last = [name for _, uid, _, name in self.events if uid == who]
        return bool(last) and last[-1] == "ChannelTalkingStart"

    def channel_heard(self, moment: float, fragment: str) -> bool:
        with self.lock:
            return any(at >= moment and fragment in channel for at, _, channel in self.heard)


@dataclass
class Centre:
    """The console on the test link, its accounts with WebRTC endpoints, the test Asterisk."""

    url: str
    database: Database
    asterisk: Harness
    ami: AMIClient
    users: dict[str, User]
    ears: Ears

    def rtp(self, endpoint: str) -> tuple[int, int]:
        """RTP packets Asterisk received from and sent to the endpoint's channel(s)."""
        received = sent = 0
        for line in self.asterisk.cli("pjsip show channelstats").splitlines():
            words = line.split()
            for index, word in enumerate(words):
                if word.startswith(f"{endpoint}-") and len(words) > index + 7:
                    received += int(words[index + 3])
                    sent += int(words[index + 7])
        return received, sent

    def disposition(self, uniqueid: str) -> str | None:
        with self.database.sessions() as session:
            call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
            return call.disposition if call else None


@pytest.fixture
def centre(
    media: MediaNetwork,
    database: Database,
    settings: Settings,
    pii: PiiProtector,
    asterisk: Harness,
    ami: AMIClient,
) -> Iterator[Centre]:
    """The API and console with the phones' services, and an agent, a second agent and a
    supervisor whose endpoints are published to the test Asterisk."""
    settings = dataclasses.replace(
        settings,
        database_url=database.url,
        sip_ws_url=f"ws://{media.host_address}:{TEST_HTTP_PORT}/ws",
        asterisk_http_port=TEST_HTTP_PORT,
        sip_port=asterisk.settings.sip_port,
        working_days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        working_hours="00:00-23:59:59",
    )
    reloader = AmiPjsipReloader(
        "127.0.0.1",
        asterisk.settings.ami_port,
        asterisk.settings.ami_reload_username,
        asterisk.ami_reload_secret(),
    )
    publisher = PjsipFilePublisher(asterisk.root / CONFIG_DIR.lstrip("/") / ACCOUNTS_FILE, reloader)
    app = create_app(
        settings,
        sessions=database.sessions,
        ami=ami,
        call_control=AmiCallControl(ami, auto_answer=True),
        queue_membership=AmiQueueMembership(ami),
        sip_publisher=publisher,
        call_spy=AmiCallSpy(ami),
        test_config={"TAWASUL_STREAM_MAX_S": 120},
    )
    accounts = AccountService(settings.branches)
    users = {}
    with database.sessions() as session:
        for username, role, extension in (
            ("agent", Role.AGENT, AGENT),
            ("agent2", Role.AGENT, SECOND_AGENT),
            ("supervisor", Role.SUPERVISOR, SUPERVISOR),
        ):
            users[username] = accounts.create_user(
                session, NewUser(username, PASSWORD, role, "riyadh", f"PJSIP/{extension}")
            )
            session.expunge(users[username])
    wait_until(
        lambda: "Unable to find" not in asterisk.cli(f"pjsip show endpoint {SUPERVISOR}"),
        15,
        "the accounts' endpoints in Asterisk",
    )
    # And their dialplan: a blind transfer reaches only the staff destinations generated with them.
    wait_until(
        lambda: all(
            f"'{extension}'" in asterisk.cli("dialplan show tawasul-staff-destinations")
            for extension in (AGENT, SECOND_AGENT, SUPERVISOR)
        ),
        15,
        "the accounts' staff destinations in Asterisk",
    )
    server: BaseWSGIServer = make_server("127.0.0.1", CONSOLE_PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-server", daemon=True)
    thread.start()
    ears = Ears()
    remove = ami.add_listener(ears.on_event)
    yield Centre(
        f"http://{media.host_address}:{CONSOLE_PORT}", database, asterisk, ami, users, ears
    )
    remove()
    server.shutdown()
    # The app's endpoint publisher republishes this test's accounts every minute: stopped, or
    # it would write them over the endpoints of the worker's next tests (their phones "Invalid").
    sync = app.extensions["tawasul.phones"].sync
    if sync is not None:
        sync.stop()
    for extension in (AGENT, SECOND_AGENT, SUPERVISOR):
        with contextlib.suppress(AMIActionError):  # not a member: nothing to clean up
            ami.action("QueueRemove", {"Queue": QUEUE, "Interface": f"PJSIP/{extension}"})
    publisher.publish([], [])  # the next test starts from no endpoints


@dataclass
class PhonePage:
    """A signed-in console tab whose phone registered."""

    page: Any
    errors: list[str]

    def inbound_packets(self) -> int:
        return int(self.page.evaluate(INBOUND_PACKETS))

    def wait_audio(self, what: str) -> None:
        """Inbound RTP packets on the page's call keep growing."""
        wait_until(lambda: self.inbound_packets() > 0, 10, f"{what} to start")
        first = self.inbound_packets()
        time.sleep(2)
        second = self.inbound_packets()
        assert second > first > 0, f"{what}: inbound packets {first} then {second}"

    def axe(self) -> list[str]:
        """axe-core's serious and critical violations on the page as it is now."""
        return ConsolePage(self.page, []).axe()

    def phone_state(self, state: str, timeout_ms: int = 20_000) -> None:
        expect(self.page.locator("#phone-state")).to_have_attribute(
            "data-state", state, timeout=timeout_ms
        )


@pytest.fixture
def open_phone(centre: Centre, phone_browser: Any) -> Iterator[Callable[..., PhonePage]]:
    """Sign in and wait until the page's phone is registered; the tabs close after the test
    (an open tab would keep registering its endpoint into the next test)."""
    opened: list[PhonePage] = []

    def open_one(username: str, language: str = "en") -> PhonePage:
        context = phone_browser.new_context(
            viewport={"width": 1366, "height": 768},
            locale="en-GB" if language == "en" else "ar-SA",
        )
        context.add_init_script(RECORD_PEER_CONNECTIONS)
        context.add_init_script(f"localStorage.setItem('tawasul.language', '{language}')")
        page = context.new_page()
        page.set_default_timeout(20_000)
        handle = PhonePage(page, [])
        opened.append(handle)
        page.on("pageerror", lambda error: handle.errors.append(str(error)))
        page.goto(f"{centre.url}/console/")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#sign-in button[type=submit]")
        page.wait_for_selector("#requests")
        handle.phone_state("registered")
        return handle

    yield open_one
    for handle in opened:
        handle.page.context.close()


def go_ready(agent: PhonePage) -> None:
    agent.page.click("#go-ready")
    expect(agent.page.locator("#presence-state")).to_have_attribute("data-state", "ready")


def caller_for_an_agent(phone: Phone) -> PlacedCall:
    return phone.call_into(
        INBOUND, ASKS_FOR_AN_AGENT, {"SIM_VOICE": CALLER_VOICE, "SIM_TALK_DETECT": "1"}
    )


def test_a_queue_call_is_answered_held_transferred_and_wrapped_up_in_the_page(
    centre: Centre, ivr: IVR, phone: Phone, open_phone: Callable[..., PhonePage]
) -> None:
    agent = open_phone("agent")
    second = open_phone("agent2", language="ar")
    go_ready(agent)
    accessibility: dict[str, list[str]] = {}

    placed = caller_for_an_agent(phone)
    ringing = agent.page.locator("#phone[data-view=ringing]")
    expect(ringing).to_be_visible(timeout=40_000)
    agent.phone_state("ringing")
    expect(agent.page.locator("#phone-answer")).to_be_focused()
    accessibility["ringing (en)"] = agent.axe()
    agent.page.click("#phone-answer")
    agent.phone_state("in_call")
    # The screen-pop opens with the answered call.
    agent.page.wait_for_url(re.compile(r"#/pop/"))
    expect(agent.page.locator("#screen-pop")).to_be_visible()

    # Audio both ways: the page receives the caller, Asterisk receives the page, the caller
    # hears the agent's (fake) microphone: a start of talking after the queue's music ended.
    answered = time.monotonic() + 3
    agent.wait_audio("the caller's audio on the page")
    received, sent = centre.rtp(AGENT)
    time.sleep(1.5)
    assert centre.rtp(AGENT) > (received, sent) and received > 0 and sent > 0
    wait_until(
        lambda: centre.ears.since(answered, placed.caller_uniqueid), 15, "the caller to hear"
    )
    expect(agent.page.locator("#phone-timer")).not_to_have_text("0:00")

    # Hold: muted first, so that what the caller hears next can only be the music on hold.
    agent.page.click("#phone-mute")
    expect(agent.page.locator("#phone-mute")).to_have_attribute("aria-pressed", "true")
    time.sleep(2)
    quiet = time.monotonic()
    time.sleep(6)
    assert not centre.ears.since(quiet, placed.caller_uniqueid), "a muted agent was heard"
    held = time.monotonic()
    agent.page.click("#phone-hold")
    agent.phone_state("on_hold")
    wait_until(lambda: centre.ears.since(held, placed.caller_uniqueid), 10, "music on hold")
    time.sleep(4)  # the music goes on (a 100 ms burst would have stopped talking by now)
    assert centre.ears.talking(placed.caller_uniqueid), "the music on hold stopped"
    agent.page.click("#phone-hold")
    agent.phone_state("in_call")
    agent.page.click("#phone-mute")

    # DTMF keypad: reachable and labelled.
    agent.page.click("#phone-keypad")
    expect(agent.page.get_by_role("button", name="Send digit 5")).to_be_visible()
    agent.page.click("#phone-transfer")
    expect(agent.page.locator("#phone-transfer-target")).to_be_focused()
    accessibility["in a call, keypad and transfer open (en)"] = agent.axe()

    # Blind transfer to the second agent, chosen by name from the branch's staff (the form is
    # open; the agent's own phone is not offered): their page rings, answers, and hears the
    # caller.
    offered = agent.page.locator("#phone-transfer-target option").evaluate_all(
        "options => options.map(option => option.value)"
    )
    assert SECOND_AGENT in offered and SUPERVISOR in offered and AGENT not in offered, offered
    agent.page.select_option("#phone-transfer-target", SECOND_AGENT)
    agent.page.click(".phone-transfer button[type=submit]")
    expect(second.page.locator("#phone[data-view=ringing]")).to_be_visible(timeout=20_000)
    accessibility["ringing (ar)"] = second.axe()
    second.page.click("#phone-answer")
    second.phone_state("in_call")
    second.wait_audio("the transferred caller's audio on the second page")

    # The first agent's leg ended with the transfer: the wrap-up opens, a disposition is
    # stored against the call, and the after-call work ends in ready.
    expect(agent.page.locator("#wrap-up")).to_be_visible()
    agent.phone_state("wrap_up")
    accessibility["wrap-up (en)"] = agent.axe()
    agent.page.select_option("#wrap-up-disposition", "resolved")
    agent.page.click("#wrap-up-save")
    wait_until(lambda: centre.disposition(placed.ivr_uniqueid) == "resolved", 10, "disposition")
    agent.phone_state("registered", timeout_ms=30_000)
    expect(agent.page.locator("#phone")).to_be_hidden()
    expect(agent.page.locator("#presence-state")).to_have_attribute("data-state", "ready")

    # Hang-up on the second page opens its wrap-up (Arabic, right to left).
    second.page.click("#phone-hangup")
    expect(second.page.locator("#wrap-up")).to_be_visible()
    assert second.page.locator("html").get_attribute("dir") == "rtl"
    accessibility["wrap-up (ar)"] = second.axe()
    assert {view: issues for view, issues in accessibility.items() if issues} == {}
    assert agent.errors == [] and second.errors == []


def test_click_to_call_rings_the_page_then_the_requester_with_audio_both_ways(
    centre: Centre, pii: PiiProtector, open_phone: Callable[..., PhonePage]
) -> None:
    with centre.database.sessions() as session:
        request = IntakeService(pii).file_request(
            session,
            NewRequest("1000000008", Language.AR, "riyadh", callback_number=TALKING_REQUESTER),
        )
        request_id = request.id
    agent = open_phone("agent")
    agent.page.goto(f"{centre.url}/console/#/request/{request_id}")
    started = time.monotonic()
    agent.page.get_by_role("button", name=re.compile("Call back")).click()
    # Answered without a click: the agent asked for this call.
    agent.phone_state("in_call", timeout_ms=30_000)
    agent.wait_audio("the requester's audio on the page")
    received, sent = centre.rtp(AGENT)
    time.sleep(1.5)
    assert centre.rtp(AGENT) > (received, sent) and received > 0 and sent > 0
    wait_until(
        lambda: centre.ears.channel_heard(started, "tawasul-simulated-phones"),
        10,
        "the requester to hear the agent",
    )
    agent.page.click("#phone-hangup")
    expect(agent.page.locator("#wrap-up")).to_be_visible()


def test_a_queue_call_left_ringing_pauses_the_agent_and_says_why(
    centre: Centre, ivr: IVR, phone: Phone, open_phone: Callable[..., PhonePage]
) -> None:
    agent = open_phone("agent")
    go_ready(agent)
    caller_for_an_agent(phone)
    expect(agent.page.locator("#phone[data-view=ringing]")).to_be_visible(timeout=40_000)
    # Nobody answers: the queue's ring timeout passes, the member is paused with the reason.
    expect(agent.page.locator("#phone-missed")).to_be_visible(timeout=40_000)
    badge = agent.page.locator("#presence-state")
    expect(badge).to_have_attribute("data-state", "paused", timeout=15_000)
    expect(badge).to_contain_text("Missed call")


def test_a_supervisor_listens_whispers_and_barges_from_the_per_agent_table(
    centre: Centre, ivr: IVR, phone: Phone, open_phone: Callable[..., PhonePage]
) -> None:
    agent = open_phone("agent")
    supervisor = open_phone("supervisor")
    go_ready(agent)
    placed = caller_for_an_agent(phone)
    expect(agent.page.locator("#phone[data-view=ringing]")).to_be_visible(timeout=40_000)
    agent.page.click("#phone-answer")
    agent.phone_state("in_call")
    # The agent keeps quiet from here: what the caller hears next can only be the supervisor.
    agent.page.click("#phone-mute")

    supervisor.page.goto(f"{centre.url}/console/#/supervisor")
    row = supervisor.page.locator("#agents-table tr[data-agent=agent]")

    def join(mode: str) -> float:
        row.locator(f"[data-spy={mode}]").click()
        # The page asked for this call: it answers by itself.
        supervisor.phone_state("in_call")
        return time.monotonic()

    def leave() -> None:
        supervisor.page.click("#phone-hangup")
        supervisor.phone_state("registered")

    join("listen")
    supervisor.wait_audio("the agent's call on the supervisor's page")
    leave()

    # Whisper: only the agent hears the supervisor (whose microphone speaks every 4 s).
    joined = join("whisper")
    supervisor.wait_audio("the whispered call on the supervisor's page")
    time.sleep(6)
    assert not centre.ears.since(joined + 2, placed.caller_uniqueid), "the caller heard a whisper"
    leave()

    # Barge: the caller hears the supervisor too.
    joined = join("barge")
    wait_until(
        lambda: centre.ears.since(joined, placed.caller_uniqueid), 12, "the caller to hear a barge"
    )
    leave()
    assert supervisor.errors == [] and agent.errors == []
