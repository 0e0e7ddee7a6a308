"""SIP trunks against a carrier: a second Asterisk (the project's chroot, its own ports) plays it.

The centre's test Asterisk gets two trunks to it for this module, an IP trunk ``stc`` (known
by address and port) and a registration trunk ``mobily``, and the DIDs of the three branches
and the fax. The carrier's callers dial those DIDs in the forms carriers write them; the
centre's callbacks arrive at the carrier, which reports the number dialled and the caller ID.
"""

from __future__ import annotations

import dataclasses
import queue
import secrets
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import select

from ivr.simulator import fax_tiff, new_request_script
from providers.ami import AMIClient
from providers.call_control import AmiCallControl
from tawasul.callbacks import CallbackPlacer, schedule_callback
from tawasul.config import Settings
from tawasul.delivery import Done, Held
from tawasul.hours import WorkingHours
from tawasul.intake import IntakeService, NewRequest
from tawasul.models import (
    Call,
    Callback,
    CallbackStatus,
    CallOutcome,
    Channel,
    FaxReception,
    FaxStatus,
    Language,
    OutboxMessage,
    OutboxStatus,
    Request,
    RequestEvent,
    utcnow,
)
from tawasul.pii import PiiProtector
from tawasul_cli.asterisk import Harness, default_cache_dir
from tawasul_cli.redis_server import RedisServer
from tests.helpers import REPO, Database
from tests.integration.carrier import CENTRE_USER, Carrier
from tests.integration.support import (
    IVR,
    TEST_PORT_BASE,
    TEST_SIP_PORT,
    TEST_VAR_NAME,
    WorkerProcess,
    wait_until,
    worker_env,
)

pytestmark = [
    pytest.mark.asterisk,
    # What a trunk does does not depend on the database: one backend keeps the module fast.
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]

CARRIER_IP_PORT = TEST_PORT_BASE + 91
CARRIER_REGISTER_PORT = TEST_PORT_BASE + 92
CARRIER_AMI_PORT = TEST_PORT_BASE + 93
TRUNKS = ("trunk-stc", "trunk-mobily")
DIDS = {"riyadh": "0112345678", "jeddah": "0126543210", "medina": "0148765432"}
FAX_DID = "0112345699"
AGENT = "Local/1001@tawasul-simulated-agents"
VALID_ID = "1000000008"
ALWAYS_OPEN = {
    "working_days": ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    "working_hours": "00:00-23:59:59",
}


class CarrierLine:
    """The carrier's AMI: places its subscribers' calls, hears of the centre's calls."""

    def __init__(self, carrier: Carrier) -> None:
        settings = carrier.settings
        self.ami = AMIClient(
            "127.0.0.1", settings.ami_port, settings.ami_username, carrier.ami_secret()
        )
        self.ami.start()
        self.arrived: queue.Queue[dict[str, str]] = queue.Queue()
        self.events: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.ami.add_listener(self._on_event)

    def _on_event(self, event: dict[str, str]) -> None:
        with self._lock:
            self.events.append(event)
        if event.get("UserEvent") == "CarrierCall":
            self.arrived.put(event)

    def user_events(self, name: str) -> list[dict[str, str]]:
        """The user events of that name so far."""
        with self._lock:
            return [event for event in self.events if event.get("UserEvent") == name]

    def originate_response(self, channel_id: str) -> dict[str, str] | None:
        """The OriginateResponse of the call placed with that id, once it came."""
        with self._lock:
            for event in self.events:
                if event.get("Event") == "OriginateResponse" and event.get("Uniqueid") == (
                    channel_id
                ):
                    return event
        return None

    def call(
        self, number: str, trunk: str, caller_id: str, script: str, context: str = "carrier-caller"
    ) -> str:
        """Call the centre at ``number`` over the carrier's ``trunk`` endpoint; return the id
        of the carrier's channel (its OriginateResponse says whether the centre took it)."""
        channel_id = uuid.uuid4().hex
        self.ami.originate(
            f"PJSIP/{number}@{trunk}",
            context=context,
            exten="s",
            caller_id=caller_id,
            variables={"SIM_SCRIPT": script, "SIM_FAX_FILE": "/var/spool/asterisk/page.tif"},
            channel_id=channel_id,
        )
        return channel_id

    def close(self) -> None:
        """Log out."""
        self.ami.close()


def _carrier(password: str) -> Carrier:
    settings = dataclasses.replace(
        Settings(), var_dir=REPO / "var" / f"{TEST_VAR_NAME}-carrier", ami_port=CARRIER_AMI_PORT
    )
    return Carrier(
        settings,
        default_cache_dir(),
        ip_port=CARRIER_IP_PORT,
        register_port=CARRIER_REGISTER_PORT,
        centre_port=TEST_SIP_PORT,
        password=password,
    )


def trunk_settings(base: Settings, password: str) -> Settings:
    """The centre's settings with the two trunks and the DIDs (qualified every second)."""
    return dataclasses.replace(
        base,
        trunks=(
            f"stc host=127.0.0.1:{CARRIER_IP_PORT} match=127.0.0.1:{CARRIER_IP_PORT} "
            "dial_format=international callerid_format=national",
            f"mobily host=127.0.0.1:{CARRIER_REGISTER_PORT} auth=register "
            f"username={CENTRE_USER} password={password} dial_format=e164 callerid_format=e164",
        ),
        trunk_dids=(*(f"{did}={branch}" for branch, did in DIDS.items()), f"{FAX_DID}=fax"),
        trunk_qualify_s=1,
    )


@pytest.fixture(scope="module")
def carrier() -> Iterator[Carrier]:
    """The carrier's Asterisk, up for the module."""
    handle = _carrier(secrets.token_urlsafe(12))
    handle.down()  # a previous run's, killed before its teardown
    handle.up()
    yield handle
    handle.down()


@pytest.fixture(scope="module")
def trunked(asterisk: Harness, carrier: Carrier, ami: AMIClient) -> Iterator[Harness]:
    """The centre's Asterisk with trunks to the carrier, registered and qualified; the
    configuration without trunks is put back at the end."""
    centre = Harness(trunk_settings(asterisk.settings, carrier.password), asterisk.cache_dir)
    centre.up()  # running: the configuration is installed and reloaded
    centre.cli("module reload res_pjsip_outbound_registration.so")
    calls = AmiCallControl(ami, trunks=TRUNKS)
    wait_until(lambda: _trunk_up(ami, TRUNKS[0]), 30, "the IP trunk to qualify")
    wait_until(lambda: _trunk_up(ami, TRUNKS[1]), 30, "the registration trunk to qualify")
    wait_until(
        lambda: "Registered" in centre.cli("pjsip show registrations"),
        30,
        "the registration trunk to register",
    )
    assert calls.carrier_reachable()
    yield centre
    asterisk.up()


@pytest.fixture
def line(carrier: Carrier, trunked: Harness) -> Iterator[CarrierLine]:
    """The carrier's AMI for one test."""
    handle = CarrierLine(carrier)
    yield handle
    handle.close()


def _trunk_up(ami: AMIClient, endpoint: str) -> bool:
    reply = ami.action("Getvar", {"Variable": f"DEVICE_STATE(PJSIP/{endpoint})"})
    return reply.get("Value") not in ("UNAVAILABLE", "INVALID", "UNKNOWN", "")


def owe_callback(database: Database, pii: PiiProtector, number: str, branch: str) -> int:
    """A filed request of ``branch`` owed a callback to ``number``; the outbox row's id."""
    with database.sessions() as session:
        request = IntakeService(pii).file_request(
            session, NewRequest(VALID_ID, Language.AR, branch, callback_number=number)
        )
        callback = Callback(
            request_id=request.id,
            number=number,
            branch=branch,
            agent_endpoint=AGENT,
            queued_at=utcnow(),
            due_at=utcnow(),
            max_attempts=2,
        )
        row = schedule_callback(session, callback)
        session.commit()
        return row.id


def placer(ami: AMIClient, settings: Settings) -> CallbackPlacer:
    """The worker's callback placer, with the trunks' endpoints (as providers.build does)."""
    return CallbackPlacer(
        AmiCallControl(ami, agent_ring_s=5, trunks=TRUNKS),
        WorkingHours.from_settings(dataclasses.replace(settings, **ALWAYS_OPEN)),
        "",
        timedelta(minutes=5),
        timeout_s=20,
    )


def deliver(database: Database, place: CallbackPlacer, row_id: int) -> object:
    with database.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return place.deliver(session, row)


def the_callback(database: Database) -> Callback:
    with database.sessions() as session:
        return session.scalars(select(Callback)).one()


def test_each_did_reaches_its_branchs_menu_and_files_a_request(ivr: IVR, line: CarrierLine) -> None:
    # Each DID in another of the forms carriers write, two over the IP trunk and one over the
    # registration trunk; each caller's number in another form too. All three at once.
    callers = {
        "riyadh": ("966112345678", "centre-ip", "966501111111"),
        "jeddah": ("0126543210", "centre-ip", "+966502222222"),
        "medina": ("+966148765432", CENTRE_USER, "0503333333"),
    }
    for number, trunk, caller_id in callers.values():
        line.call(number, trunk, caller_id, new_request_script(VALID_ID))

    def filed() -> list[Call]:
        with ivr.database.sessions() as session:
            calls = session.scalars(select(Call).where(Call.ended_at.is_not(None))).all()
            return list(calls) if len(calls) == len(callers) else []

    wait_until(filed, 180, "three calls from the carrier to end")
    with ivr.database.sessions() as session:
        for branch, (_, _, caller_id) in callers.items():
            call = session.scalars(select(Call).where(Call.caller_id == caller_id)).one()
            assert call.outcome == CallOutcome.REQUEST_FILED, (branch, call.journey)
            request = session.get(Request, call.request_id)
            assert request is not None
            assert request.branch == branch
            assert request.is_partial is False
            # The caller's number, in whatever form the carrier sent it, is called back in E.164.
            assert request.callback_number == "+9665" + caller_id[-8:]


def test_the_fax_did_reaches_the_fax_intake(ivr: IVR, line: CarrierLine, carrier: Carrier) -> None:
    fax_tiff(carrier.root / "var/spool/asterisk/page.tif", 1)
    line.call("00966112345699", "centre-ip", "0551234567", "", context="carrier-fax")

    def received() -> FaxReception | None:
        with ivr.database.sessions() as session:
            return session.scalars(select(FaxReception)).one_or_none()

    wait_until(received, 90, "the fax to be recorded")
    fax = received()
    assert fax is not None
    assert (fax.status, fax.pages, fax.sender) == (FaxStatus.RECEIVED, 1, "0551234567")
    with ivr.database.sessions() as session:
        request = session.get(Request, fax.request_id)
        assert request is not None and request.channel == Channel.FAX


def test_a_callback_goes_out_through_the_trunk_with_its_branchs_number(
    database: Database,
    ami: AMIClient,
    settings: Settings,
    pii: PiiProtector,
    line: CarrierLine,
) -> None:
    row_id = owe_callback(database, pii, "+966501234567", "jeddah")
    assert deliver(database, placer(ami, settings), row_id) == Done()
    arrived = line.arrived.get(timeout=10)
    # The IP trunk comes first; it wants the number international and caller IDs national.
    assert arrived["Number"] == "966501234567"
    assert arrived["CallerID"] == "0126543210"
    assert arrived["Endpoint"] == "centre-ip"
    callback = the_callback(database)
    assert (callback.status, callback.attempts, callback.last_result) == (
        CallbackStatus.CONNECTED,
        1,
        "ANSWER",
    )


def test_a_caller_from_the_trunk_cannot_reach_an_outside_number(
    ivr: IVR, line: CarrierLine, trunked: Harness
) -> None:
    # Straight at either trunk: numbers that are not DIDs, the centre's own extensions' names.
    refused = [
        line.call(number, trunk, "966501234567", "w1/h")
        for trunk in ("centre-ip", CENTRE_USER)
        for number in ("00441632960000", "+966501234567", "0501234567", "s", "fax", "1001")
    ]
    # Through a DID: a transfer request (REFER) to an outside number and to a DID, then digits
    # of an outside number where the menu asks for a callback number (the caller's number is
    # foreign, so it is asked).
    outside = f"sip:00441632960000@127.0.0.1:{TEST_SIP_PORT}"
    did = f"sip:{DIDS['riyadh']}@127.0.0.1:{TEST_SIP_PORT}"
    script = f"x{outside}/x{did}/w1/2/w2/1/w2/{VALID_ID}/w3/1/w2/1/w2/1/w2/2/w3/0044163296/w8/h"
    entered = line.call(DIDS["riyadh"], CENTRE_USER, "+442071234567", script)
    for channel_id in refused:
        wait_until(lambda c=channel_id: line.originate_response(c), 30, "the centre to refuse")
        assert line.originate_response(channel_id)["Response"] == "Failure"  # type: ignore[index]
    wait_until(lambda: line.originate_response(entered), 30, "the DID to answer")
    assert line.originate_response(entered)["Response"] == "Success"  # type: ignore[index]
    wait_until(lambda: len(line.user_events("CarrierTransfer")) == 2, 60, "both transfers")
    # Declined outright (603, allow_transfer = no), not merely a target that was not found.
    assert [(e["Status"], e["Protocol"]) for e in line.user_events("CarrierTransfer")] == [
        ("FAILURE", "603"),
        ("FAILURE", "603"),
    ]

    def ended() -> Call | None:
        with ivr.database.sessions() as session:
            return session.scalars(select(Call).where(Call.ended_at.is_not(None))).one_or_none()

    wait_until(ended, 90, "the caller's call to end")
    with ivr.database.sessions() as session:
        assert [cb.number for cb in session.scalars(select(Callback))] == []
    # Nothing the centre did reached the carrier: no call came back out of a trunk.
    assert line.arrived.empty()


def test_with_the_trunk_down_callbacks_wait_and_go_out_when_it_is_back(
    database: Database,
    ami: AMIClient,
    settings: Settings,
    pii: PiiProtector,
    carrier: Carrier,
    trunked: Harness,
    redis_server: RedisServer,
    redis: Redis,
) -> None:
    carrier.down()
    worker: WorkerProcess | None = None
    try:
        wait_until(lambda: not any(_trunk_up(ami, t) for t in TRUNKS), 30, "the trunks to drop")
        row_id = owe_callback(database, pii, "+966501234567", "medina")
        place = placer(ami, settings)
        agent_rung: list[str] = []
        stop_listening = ami.add_listener(
            lambda event: (
                agent_rung.append(event.get("Channel", ""))
                if event.get("Event") == "Newchannel" and AGENT in event.get("Channel", "")
                else None
            )
        )
        try:
            for _ in range(3):  # however often it is tried, no attempt on the requester is used
                outcome = deliver(database, place, row_id)
                assert isinstance(outcome, Held), outcome
        finally:
            stop_listening()
        assert agent_rung == []  # nor is an agent rung for a call that could go nowhere
        callback = the_callback(database)
        assert (callback.status, callback.attempts, callback.last_result) == (
            CallbackStatus.WAITING,
            0,
            "TRUNK_DOWN",
        )
        # A call placed without the trunk check (click-to-call's) learns it from the dialplan.
        leg = AmiCallControl(ami, agent_ring_s=5).connect(AGENT, "+966501234568", {}, 20)
        assert (leg.connected, leg.reason, leg.placed) == (False, "TRUNK_DOWN", False)

        # The worker, configured with the trunks as a centre would be, finds the carrier still
        # away and holds the callback again, then places it once the carrier is back.
        centre = trunked.settings
        env = worker_env(
            settings,
            redis_server.url,
            database_url=database.url,
            ami_port=str(centre.ami_port),
            ami_secret=trunked.ami_secret(),
            trunks=",".join(centre.trunks),
            trunk_dids=",".join(centre.trunk_dids),
            callback_retry_s="2",
            callback_agent_ring_s="5",
            callback_timeout_s="15",
        )
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        worker = WorkerProcess(env, settings.var_dir / "worker.log", ami=True).start()
        wait_until(lambda: _trunk_down_events(database) > 3, 60, "the worker to hold it too")
    finally:
        carrier.up()
    line = CarrierLine(carrier)
    try:
        arrived = line.arrived.get(timeout=60)
        # Through the IP trunk, once qualified again; Medina's number, as that trunk writes it.
        assert (arrived["Number"], arrived["CallerID"]) == ("966501234567", "0148765432")
        wait_until(
            lambda: the_callback(database).status == CallbackStatus.CONNECTED,
            30,
            "the callback to be recorded as connected",
        )
    finally:
        line.close()
        if worker is not None:
            worker.stop()
    assert the_callback(database).attempts == 1
    with database.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None and row.status == OutboxStatus.DONE


def _trunk_down_events(database: Database) -> int:
    with database.sessions() as session:
        events = session.scalars(select(RequestEvent).where(RequestEvent.kind == "callback"))
        return sum(1 for event in events if event.details.get("result") == "TRUNK_DOWN")
