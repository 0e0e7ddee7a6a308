"""Chooses and builds each provider from the settings: the one place that knows which is which.

Only the composition roots in ``tawasul_cli`` call these; everything else receives what they
build through its constructor.
"""

from __future__ import annotations

from providers.ami import AMIClient
from providers.call_control import AmiCallControl
from providers.forwarding import HttpForwarder, LocalForwarder
from providers.national_identity import NationalIdentityVerifier
from providers.queue_members import AmiQueueMembership
from providers.sip_endpoints import PjsipFilePublisher
from providers.sip_endpoints import publisher as sip_file_publisher
from providers.sip_security import AmiCallSpy, SipSecurityListener
from providers.sms import HttpSmsGateway, LocalSmsProvider
from tawasul.config import Settings
from tawasul.errors import ConfigError
from tawasul.identity import SmsCodeVerifier
from tawasul.pii import PiiProtector
from tawasul.ports import Forwarder, IdentityVerifier, SmsSender
from tawasul.sip_guard import RegistrationGuard


def ami_client(settings: Settings, name: str) -> AMIClient:
    """An AMI client for the configured manager account, not yet started.

    Args:
        settings: where Asterisk's manager listens, and the account's name and secret.
        name: the client's name in logs and in the security log (``worker-ami``, ``events``...).

    Returns:
        The client; the caller starts it (``start(wait_s=..., require=...)``) and closes it.

    Raises:
        ConfigError: no AMI secret is configured or readable.
    """
    return AMIClient(
        settings.ami_host,
        settings.ami_port,
        settings.ami_username,
        settings.resolved_ami_secret(),
        name=name,
    )


def call_control(settings: Settings, ami: AMIClient) -> AmiCallControl:
    """The ``CallControl`` that places callbacks, under the callback policy of the settings."""
    return AmiCallControl(
        ami,
        settings.callback_allowed_prefixes,
        settings.callback_agent_ring_s,
        settings.callback_queue_wait_s,
    )


def click_to_call_control(ami: AMIClient) -> AmiCallControl:
    """The ``CallControl`` of the agent API's click-to-call (the adapter's default policy); the
    agent asked for the call, so a staff phone is told to answer by itself."""
    return AmiCallControl(ami, auto_answer=True)


def queue_membership(ami: AMIClient) -> AmiQueueMembership:
    """The agents' queue presence in Asterisk (the core's ``QueueMembership`` port)."""
    return AmiQueueMembership(ami)


def sip_publisher(settings: Settings) -> PjsipFilePublisher:
    """The accounts' SIP endpoints: the generated file Asterisk includes, and its reload.

    Raises:
        ConfigError: no secret for the AMI reload user is configured or readable.
    """
    return sip_file_publisher(settings)


def call_spy(ami: AMIClient) -> AmiCallSpy:
    """Supervisors' listen / whisper / barge through ChanSpy (the core's ``CallSpy``)."""
    return AmiCallSpy(ami)


def sip_guard(settings: Settings, ami: AMIClient) -> RegistrationGuard:
    """Failed SIP registrations counted per address from the AMI security events."""
    guard = RegistrationGuard(
        settings.sip_block_after, settings.sip_block_window_s, settings.sip_block_s
    )
    ami.add_listener(SipSecurityListener(guard))
    return guard


def sms_sender(settings: Settings) -> SmsSender:
    """The configured SMS provider.

    Raises:
        ConfigError: an unknown ``sms_provider``, or ``http`` without a gateway URL.
    """
    if settings.sms_provider == "local":
        return LocalSmsProvider(settings.var_dir / "sms")
    if settings.sms_provider == "http":
        if not settings.sms_gateway_url:
            raise ConfigError("sms_provider is http but sms_gateway_url is empty")
        return HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token)
    raise ConfigError(f"unknown sms_provider {settings.sms_provider!r}")


def forwarder(settings: Settings) -> Forwarder:
    """The ministry's webhook if configured, else local storage.

    Raises:
        ConfigError: a webhook URL without its signing secret.
    """
    if settings.forward_url:
        if not settings.forward_secret:
            raise ConfigError("forward_url is set but forward_secret is empty")
        return HttpForwarder(settings.forward_url, settings.forward_secret)
    return LocalForwarder(settings.var_dir / "forwarded")


def identity_verifier(settings: Settings, pii: PiiProtector) -> IdentityVerifier:
    """The configured identity provider: a one-time code by SMS, or the national e-services.

    Args:
        settings: ``identity_provider`` and, for ``national``, the API's URL and timeout.
        pii: the protector that reads the requester's national ID.

    Returns:
        The verifier.

    Raises:
        ConfigError: an unknown provider, or ``national`` without its URL.
    """
    if settings.identity_provider == "sms":
        return SmsCodeVerifier(pii)
    if settings.identity_provider == "national":
        if not settings.identity_api_url:
            raise ConfigError("identity_provider = national needs identity_api_url")
        return NationalIdentityVerifier(
            settings.identity_api_url, pii, timeout_s=settings.identity_api_timeout_s
        )
    raise ConfigError(f"unknown identity_provider {settings.identity_provider!r}")
