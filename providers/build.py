"""Chooses and builds each provider from the settings: the one place that knows which is which.

Only the composition roots in ``tawasul_cli`` call these; everything else receives what they
build through its constructor.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from providers.ami import AMIClient
from providers.call_control import AmiCallControl
from providers.forwarding import HttpForwarder, LocalForwarder
from providers.national_identity import NationalIdentityVerifier
from providers.queue_members import AmiQueueMembership
from providers.sip_endpoints import PjsipFilePublisher
from providers.sip_endpoints import publisher as sip_file_publisher
from providers.sip_security import AmiCallSpy, SipSecurityListener
from providers.smpp import SmppAccount, SmppBind, SmppHandover
from providers.sms import HttpSmsGateway, LocalSmsProvider
from tawasul.config import Settings
from tawasul.errors import ConfigError
from tawasul.identity import SmsCodeVerifier
from tawasul.pii import PiiProtector
from tawasul.ports import Forwarder, IdentityVerifier, SmsSender
from tawasul.sip_guard import RegistrationGuard
from tawasul.sms_centre import SmsCentreQueue
from tawasul.trunks import carrier_plan


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
        tuple(trunk.endpoint for trunk in carrier_plan(settings).trunks),
    )


def click_to_call_control(settings: Settings, ami: AMIClient) -> AmiCallControl:
    """The ``CallControl`` of the agent API's click-to-call (the adapter's default policy); the
    agent asked for the call, so a staff phone is told to answer by itself. With trunks to the
    carrier, the agent is not rung while none of them is up."""
    return AmiCallControl(
        ami,
        auto_answer=True,
        trunks=tuple(trunk.endpoint for trunk in carrier_plan(settings).trunks),
    )


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


def sms_sender(settings: Settings, sessions: sessionmaker[Session] | None = None) -> SmsSender:
    """The configured SMS provider.

    Args:
        settings: ``sms_provider`` and its keys.
        sessions: the worker's database; ``smpp`` records there the parts owed to the centre.

    Raises:
        ConfigError: an unknown ``sms_provider``, ``http`` without a gateway URL, or ``smpp``
            without its account or a database.
    """
    if settings.sms_provider == "smpp":
        smpp_account(settings)  # refuses an incomplete account in the worker too
        if sessions is None:
            raise ConfigError("sms_provider is smpp: the SMS sender needs the database")
        return SmppHandover(sessions, SmsCentreQueue())
    if settings.sms_provider == "local":
        return LocalSmsProvider(settings.var_dir / "sms")
    if settings.sms_provider == "http":
        if not settings.sms_gateway_url:
            raise ConfigError("sms_provider is http but sms_gateway_url is empty")
        return HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token)
    raise ConfigError(f"unknown sms_provider {settings.sms_provider!r}")


def smpp_account(settings: Settings) -> SmppAccount:
    """The SMS centre account ``tawasul smpp`` binds with.

    Raises:
        ConfigError: no system_id or no sender id (the sender id's form is checked when the
            settings are loaded).
    """
    if not settings.smpp_system_id:
        raise ConfigError("sms_provider is smpp but smpp_system_id is empty")
    if not settings.smpp_sender_id:
        raise ConfigError("sms_provider is smpp but smpp_sender_id is empty")
    return SmppAccount(
        host=settings.smpp_host,
        port=settings.smpp_port,
        system_id=settings.smpp_system_id,
        password=settings.smpp_password,
        system_type=settings.smpp_system_type,
        sender_id=settings.smpp_sender_id,
        window=max(1, settings.smpp_window),
        max_per_second=float(settings.smpp_max_per_second),
        enquire_link_s=float(settings.smpp_enquire_link_s),
        response_timeout_s=float(settings.smpp_response_timeout_s),
        reconnect_max_s=float(settings.smpp_reconnect_max_s),
    )


def smpp_bind(settings: Settings, sessions: sessionmaker[Session]) -> SmppBind:
    """The long-lived bind of ``tawasul smpp``, not yet running.

    Raises:
        ConfigError: as :func:`smpp_account`.
    """
    return SmppBind(smpp_account(settings), sessions, SmsCentreQueue())


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
