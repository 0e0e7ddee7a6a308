"""SIP identities, the generated endpoint file, failed-registration blocks, dispositions."""

from __future__ import annotations

import configparser
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from providers.sip_endpoints import PjsipFilePublisher, render, render_destinations
from providers.sip_security import SipSecurityListener, mask_address, remote_address
from tawasul.config import Settings
from tawasul.errors import ConfigError
from tawasul.models import Role, User
from tawasul.sip_accounts import SipDevice, SipIdentity, digest_ha1, has_phone, sip_endpoint_of
from tawasul.sip_guard import RegistrationGuard
from tawasul.wrap_up import parse_dispositions
from tawasul_cli.asterisk import Harness
from tests.helpers import REPO

HA1 = digest_ha1("1001", "secret")


def _user(extension: str | None, *, active: bool = True, takes_calls: bool = True) -> User:
    return User(
        id=1,
        username="amal",
        role=Role.AGENT,
        branch="riyadh",
        extension=extension,
        is_active=active,
        takes_calls=takes_calls,
    )


def test_the_sip_identity_is_the_digits_of_a_pjsip_extension() -> None:
    assert sip_endpoint_of(_user("PJSIP/1001")) == "1001"
    for other in (None, "", "1001", "Local/1001@tawasul-simulated-agents", "PJSIP/10a1"):
        assert sip_endpoint_of(_user(other)) is None


def test_only_active_staff_who_take_calls_or_supervise_have_a_phone() -> None:
    assert has_phone(_user("PJSIP/1001"))
    assert not has_phone(_user("PJSIP/1001", active=False))
    assert not has_phone(_user("PJSIP/1001", takes_calls=False))
    supervisor = _user("PJSIP/1001", takes_calls=False)
    supervisor.role = Role.SUPERVISOR
    assert has_phone(supervisor)


def test_the_ha1_is_rfc_2617s() -> None:
    # md5("1001:tawasul:secret"), computed independently.
    assert HA1 == "ba27c23ed72cff654dc23614c3ab0033"
    assert digest_ha1("1001", "secret") != digest_ha1("1001", "secret", realm="asterisk")


def test_the_generated_file_holds_endpoints_auths_aors_and_the_blocked_addresses() -> None:
    text = render(
        [
            SipIdentity(1, "1001", "amal", HA1, SipDevice.WEBRTC),
            SipIdentity(2, "1002", "noor", HA1, SipDevice.SIP),
        ],
        ["198.18.0.7"],
    )
    assert "[1001](tawasul-phone-webrtc-endpoint)" in text
    assert "[1002](tawasul-phone-sip-endpoint)" in text
    assert f"md5_cred = {HA1}" in text and "password" not in text
    assert "[tawasul-blocked]\ntype = acl\ndeny = 198.18.0.7\n" in text


def test_the_staff_destinations_are_literal_extensions_of_phones_and_branch_queues() -> None:
    text = render_destinations(
        [SipIdentity(1, "1001", "amal", HA1, SipDevice.WEBRTC)], ("riyadh", "jeddah")
    )
    assert text.splitlines()[1:] == [
        "[tawasul-staff-destinations]",
        "exten => 1001,1,Goto(tawasul-staff-phone,1001,1)",
        "exten => queue-jeddah,1,Goto(tawasul-staff-queue,jeddah,1)",
        "exten => queue-riyadh,1,Goto(tawasul-staff-queue,riyadh,1)",
    ]
    assert "_" not in text.replace("tawasul-staff", "")  # no pattern: nothing else exists
    with pytest.raises(ValueError):
        render_destinations([], ["riyadh,1,Dial(PJSIP/x)"])


@pytest.mark.parametrize(
    "identity",
    [
        SipIdentity(1, "10\n01", "amal", HA1, SipDevice.WEBRTC),
        SipIdentity(1, "1001", "amal", "x" * 32, SipDevice.WEBRTC),
        SipIdentity(1, "1001]\n[evil", "amal", HA1, SipDevice.WEBRTC),
    ],
)
def test_nothing_of_the_wrong_shape_is_written(identity: SipIdentity) -> None:
    with pytest.raises(ValueError, match="refusing"):
        render([identity], [])
    with pytest.raises(ValueError):
        render([], ["not an address"])


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_an_address_is_blocked_after_repeated_failures_within_the_window_then_forgiven() -> None:
    clock = Clock()
    changes: list[int] = []
    guard = RegistrationGuard(3, 60, 600, clock=clock)
    guard.notify(lambda: changes.append(1))
    assert not guard.failed("198.18.0.7", "198.18.0.x")
    clock.now += timedelta(seconds=61)  # the first failure left the window
    assert not guard.failed("198.18.0.7", "198.18.0.x")
    assert not guard.failed("198.18.0.7", "198.18.0.x")
    assert guard.failed("198.18.0.7", "198.18.0.x")
    assert guard.blocked() == ["198.18.0.7"] and changes == [1]
    assert guard.next_expiry_s() == 600
    clock.now += timedelta(seconds=600)
    assert guard.blocked() == []


def test_security_events_feed_the_guard_with_the_address() -> None:
    guard = RegistrationGuard(2, 60, 600)
    listener = SipSecurityListener(guard)
    failure = {
        "Event": "ChallengeResponseFailed",
        "Service": "PJSIP",
        "AccountID": "1001",
        "RemoteAddress": "IPV4/UDP/198.18.0.9/5060",
    }
    listener({**failure, "Event": "ChallengeSent"})  # every challenge: not a failure
    listener({**failure, "Service": "AMI"})  # another service's
    listener(failure)
    assert guard.blocked() == []
    listener({**failure, "Event": "InvalidAccountID", "AccountID": "0501234567"})
    assert guard.blocked() == ["198.18.0.9"]


def test_addresses_are_parsed_and_masked() -> None:
    assert remote_address("IPV4/UDP/127.0.0.3/5062") == "127.0.0.3"
    assert remote_address("IPV6/UDP/::1/5062") == "::1"
    assert remote_address("garbage") is None
    assert mask_address("198.18.0.9") == "198.18.0.x"
    assert "9" not in mask_address("2001:db8::9")


def test_dispositions_come_from_the_settings_in_both_languages() -> None:
    found = parse_dispositions(Settings().dispositions)
    assert found[0].code == "resolved" and found[0].ar and found[0].en
    for bad in (["x"], ["Bad=a|b"], ["a=b"], ["a=ب|A", "a=ب|A"]):
        with pytest.raises(ConfigError):
            parse_dispositions(bad)


def _wrapuptime(text: str, queue: str) -> int:
    queues = configparser.ConfigParser(strict=False, interpolation=None)
    queues.read_string(text.replace("(tawasul-branch)", "").replace("(!)", ""))
    return int(queues[queue]["wrapuptime"])


def test_the_after_call_work_time_is_the_branch_queues_wrapuptime() -> None:
    text = (REPO / "dialplans" / "queues.conf").read_text()
    assert _wrapuptime(text, "tawasul-branch") == Settings().after_call_work_s
    configured = dataclasses.replace(Settings(), after_call_work_s=25)
    installed = Harness(configured, REPO)._queues_conf()
    assert _wrapuptime(installed, "tawasul-branch") == 25
    assert _wrapuptime(installed, "tawasul-lab") == 0  # the test queues keep theirs


def test_the_publisher_writes_and_reloads_only_what_changed(tmp_path: Path) -> None:
    reloads: list[list[str]] = []

    def reload(modules: Sequence[str]) -> None:
        reloads.append(list(modules))

    publisher = PjsipFilePublisher(tmp_path / "pjsip_accounts.conf", reload, ("riyadh",))
    phones = [SipIdentity(1, "1001", "amal", HA1, SipDevice.WEBRTC)]
    assert publisher.publish(phones, [])
    assert reloads == [["pbx_config.so", "res_pjsip.so"]]
    assert (tmp_path / "extensions_staff.conf").read_text().count("exten =>") == 2
    assert (tmp_path / "pjsip_accounts.conf").stat().st_mode & 0o777 == 0o640
    assert not publisher.publish(phones, [])  # the same: no write, no reload
    assert publisher.publish(phones, ["198.18.0.7"])  # a block: the endpoints' file only
    assert reloads[-1] == ["res_pjsip.so"]
    (tmp_path / "extensions_staff.conf").write_text("; replaced behind our back\n")
    assert publisher.publish(phones, ["198.18.0.7"])
    assert reloads[-1] == ["pbx_config.so"]
