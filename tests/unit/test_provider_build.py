"""providers.build: which provider each setting chooses, and the settings it refuses."""

from __future__ import annotations

import dataclasses

import pytest

from providers import build
from providers.ami import AMIClient
from providers.call_control import AmiCallControl
from providers.forwarding import HttpForwarder, LocalForwarder
from providers.national_identity import NationalIdentityVerifier
from providers.sms import HttpSmsGateway, LocalSmsProvider
from tawasul.errors import ConfigError
from tawasul.identity import SmsCodeVerifier


def test_sms_sender_is_local_by_default_and_http_with_a_gateway(settings):
    assert isinstance(build.sms_sender(settings), LocalSmsProvider)
    assert (settings.var_dir / "sms").is_dir()
    http = dataclasses.replace(settings, sms_provider="http", sms_gateway_url="https://sms.test/")
    assert isinstance(build.sms_sender(http), HttpSmsGateway)


@pytest.mark.parametrize(
    "changes",
    [{"sms_provider": "http"}, {"sms_provider": "carrier-pigeon"}],
    ids=["http-without-url", "unknown"],
)
def test_sms_sender_refuses_an_incomplete_or_unknown_provider(settings, changes):
    with pytest.raises(ConfigError):
        build.sms_sender(dataclasses.replace(settings, **changes))


def test_forwarder_is_the_webhook_only_with_its_secret(settings):
    assert isinstance(build.forwarder(settings), LocalForwarder)
    signed = dataclasses.replace(settings, forward_url="https://ministry.test/", forward_secret="s")
    assert isinstance(build.forwarder(signed), HttpForwarder)
    with pytest.raises(ConfigError):
        build.forwarder(dataclasses.replace(signed, forward_secret=""))


def test_identity_verifier_follows_identity_provider(settings, pii):
    assert isinstance(build.identity_verifier(settings, pii), SmsCodeVerifier)
    national = dataclasses.replace(
        settings, identity_provider="national", identity_api_url="https://id.test/api"
    )
    assert isinstance(build.identity_verifier(national, pii), NationalIdentityVerifier)
    with pytest.raises(ConfigError):
        build.identity_verifier(dataclasses.replace(national, identity_api_url=""), pii)
    with pytest.raises(ConfigError):
        build.identity_verifier(dataclasses.replace(settings, identity_provider="nafath"), pii)


def test_ami_client_is_built_unstarted_and_needs_a_secret(settings):
    client = build.ami_client(dataclasses.replace(settings, ami_secret="s3cret"), "unit")
    assert isinstance(client, AMIClient)
    assert not client.connected.is_set()
    assert isinstance(build.call_control(settings, client), AmiCallControl)
    with pytest.raises(ConfigError):
        build.ami_client(dataclasses.replace(settings, ami_secret=""), "unit")
