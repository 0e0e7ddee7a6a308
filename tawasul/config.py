"""Configuration: built-in defaults, then a TOML file, then ``TAWASUL_*`` environment variables.

Every process (FastAGI server, worker, API) reads the same settings, and keeps no state of its
own beyond the database and Redis, so several of each can run side by side.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tawasul.errors import ConfigError

ENV_PREFIX = "TAWASUL_"
_SENDER_ID = re.compile(r"[A-Za-z0-9 .&_-]{1,11}")


def valid_sender_id(sender_id: str) -> bool:
    """A registered alphanumeric sender id: 1 to 11 letters, digits and ``space . & _ -``, at
    least one of them a letter (all digits would be read as a phone number)."""
    return bool(_SENDER_ID.fullmatch(sender_id)) and any(c.isalpha() for c in sender_id)


@dataclass(frozen=True)
class Settings:
    """Every setting of every process, with its default."""

    var_dir: Path = field(default_factory=lambda: Path.cwd() / "var")
    database_url: str = ""
    """Empty means SQLite at ``<var_dir>/tawasul.db``."""
    secret_key: str = ""
    """Base64 master key for personal data; empty means read ``secret_key_file``."""
    secret_key_file: str = ""
    """Empty means ``<var_dir>/secret.key``."""

    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    agi_debug: bool = False

    sip_port: int = 5060
    """chan_pjsip's UDP port on 127.0.0.1 (the project's Asterisk): softphones and SIP tests."""

    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "tawasul"
    ami_secret: str = ""
    """Empty means read ``<var_dir>/asterisk/ami.secret``, written by ``tawasul asterisk up``."""

    asterisk_root: str = ""
    """Where Asterisk's filesystem is seen from this process: empty when Asterisk runs on this
    filesystem; ``<var_dir>/asterisk/root`` for the project's chroot. Files Asterisk writes
    (voice messages, faxes) are found through it."""

    retention_recordings_days: int = 90
    """Voice messages are deleted this long after the request came in."""
    retention_requests_days: int = 730
    """Ended requests lose their requester's identity and documents this long after their end."""
    retention_calls_days: int = 365
    """Call records lose the caller's number and journey."""
    retention_sms_days: int = 90
    """SMS bodies are replaced and numbers masked."""

    storage_keys: tuple[str, ...] = ()
    """Keys for recordings and documents at rest, "<8-char id>:<base64 32 bytes>", the current
    one first; empty: a key derived from the personal-data master key."""

    redis_url: str = "redis://127.0.0.1:6379/0"

    branches: tuple[str, ...] = ("riyadh", "jeddah", "medina")
    default_branch: str = "riyadh"
    timezone: str = "Asia/Riyadh"
    working_days: tuple[str, ...] = ("sun", "mon", "tue", "wed", "thu")
    working_hours: str = "08:00-16:00"
    """When agents answer and callbacks are placed, local time."""
    holidays: tuple[str, ...] = ()
    """Days the centre is closed, each Gregorian or (after ``hijri``) Umm al-Qura Hijri, once
    or every year, one day or a range ``a..b`` (inclusive): "2026-09-23" (once), "09-23" (every
    23 September), "2026-12-30..2027-01-02", "hijri 1447-10-01" (once), "hijri 10-01..10-04"
    (Eid al-Fitr, every year); see ``tawasul.hours.DateRule``."""
    hours_overrides: tuple[str, ...] = ()
    """Periods with hours of their own, "[branch:] dates = [days] hours|closed", e.g.
    "hijri 09-01..09-30 = 20:00-02:00" (Ramadan, every year); see ``tawasul.hours``. Holidays
    are written the same way: "2026-09-23", "09-23" (every year), "hijri 10-01..10-04"."""
    branch_hours: tuple[str, ...] = ()
    """Per-branch overrides, e.g. "jeddah=09:00-17:00" or "medina=sat,sun,mon 08:00-14:00"."""
    officials: tuple[str, ...] = ("minister", "deputy_minister", "undersecretary")
    """Whom a caller may ask to meet, in menu order; each needs an ``official.<name>`` prompt."""
    branch_names: tuple[str, ...] = (
        "riyadh=الرياض|Riyadh",
        "jeddah=جدة|Jeddah",
        "medina=المدينة المنورة|Medina",
    )
    """Each branch's display name, "<code>=<Arabic>|<English>": what SMS, prompts, the console
    and exports say (``tawasul.display_names``); every branch in ``branches`` needs one."""
    official_names: tuple[str, ...] = (
        "minister=معالي الوزير|The Minister",
        "deputy_minister=نائب الوزير|The Deputy Minister",
        "undersecretary=وكيل الوزارة|The Undersecretary",
    )
    """Each official's display title, "<code>=<Arabic>|<English>", like ``branch_names``."""
    voice_message_max_s: int = 120
    """Longest voice message the phone menu records."""
    prompt_engine: str = "auto"
    """"auto" (gTTS when its service answers, else espeak-ng), "gtts" or "espeak"."""
    gtts_timeout_s: int = 3
    """Seconds gTTS may take per prompt (its own default waits forever)."""

    sms_provider: str = "local"
    """"local" (messages kept under <var_dir>/sms for the console and the demo), "http", or
    "smpp" (an SMS centre, through the bind of ``tawasul smpp``: docs/smpp.md)."""
    sms_gateway_url: str = ""
    sms_gateway_token: str = ""
    sms_rate_limit: int = 3
    """At most this many messages to one number per ``sms_rate_window_s``; the rest wait."""
    sms_rate_window_s: int = 600
    sms_allowed_prefixes: tuple[str, ...] = ("+9665",)
    sms_templates_file: str = ""

    smpp_host: str = "127.0.0.1"
    """The SMS centre's SMPP 3.4 address (``sms_provider = "smpp"``)."""
    smpp_port: int = 2775
    smpp_system_id: str = ""
    """The account the centre gave this centre (bind_transceiver's system_id)."""
    smpp_password: str = ""
    smpp_system_type: str = ""
    smpp_sender_id: str = ""
    """The alphanumeric sender id registered for this centre: 1 to 11 letters, digits and
    ``space . & _ -``, at least one letter (checked when the settings are loaded)."""
    smpp_window: int = 10
    """Most submit_sm outstanding (not yet answered by submit_sm_resp) on the bind."""
    smpp_max_per_second: int = 0
    """The account's submit rate (0: only the window limits it)."""
    smpp_enquire_link_s: int = 30
    """A silent bind is probed with enquire_link this often."""
    smpp_response_timeout_s: int = 10
    """An unanswered submit_sm or enquire_link drops the bind after this long."""
    smpp_reconnect_max_s: int = 60
    """Rebinding waits 1, 2, 4... seconds after a drop, never more than this."""

    forward_url: str = ""
    """The ministry's webhook; empty: forwarding is recorded locally under <var_dir>/forwarded."""
    forward_secret: str = ""
    forward_cutoff: str = "20:00"
    """Requests received on a day and not forwarded by this local time are reported late."""
    request_target_h: int = 24
    """An open request, once forwarded, is due this many hours after it arrived: the centre's
    same-day promise carried to the decision, with the night for one that arrived near the
    cut-off (the console's work views mark it; ``tawasul.worklist``)."""

    callback_allowed_prefixes: tuple[str, ...] = ("+9665",)
    callback_agent_endpoint: str = ""
    """Who is rung first for a callback that names no agent (e.g. a branch queue channel)."""
    callback_max_attempts: int = 3
    callback_daily_limit: int = 3
    """Callbacks placed to one number in 24 hours before the next is refused (toll fraud)."""
    callback_retry_s: int = 300
    callback_agent_ring_s: int = 30
    """How long an agent's softphone rings for a callback."""
    callback_queue_wait_s: int = 330
    """How long a queued callback's stand-in (``Local/<branch>@tawasul-queue-callback``) may wait
    in the branch queue for an agent: the dialplan's TAWASUL_QUEUE_WAIT (300 s) and a margin.
    Keep it under the job timeout (jobqueue.relay.JOB_TIMEOUT_S)."""
    callback_timeout_s: int = 90
    outbound_prefix: str = "Local/"
    outbound_suffix: str = "@tawasul-simulated-phones"
    """How a callback dials the requester when no trunk is configured: the simulated phones."""

    trunks: tuple[str, ...] = ()
    """SIP trunks to the carrier, tried in this order, each "<name> key=value ...", e.g.
    "stc host=203.0.113.10:5060 auth=ip codecs=alaw|ulaw callerid_format=national";
    see ``tawasul.trunks``. When any is given, callbacks go out through them (not through
    ``outbound_prefix``)."""
    trunk_dids: tuple[str, ...] = ()
    """The carrier's numbers and what each reaches, "<number>=<branch>|fax", e.g.
    "0112345678=riyadh", "0112345699=fax"; in any form, read as E.164."""
    trunk_presented_numbers: tuple[str, ...] = ()
    """The number a branch's callbacks show, "<branch>=<number>"; default: its first DID."""
    country_code: str = "966"
    """The country of national numbers (0..., or bare) a carrier or a person gives."""
    trunk_bind: str = ""
    """The address:port of the UDP transport facing the carrier, e.g. "0.0.0.0:5060"; empty:
    the loopback transport at ``sip_port`` (one host, the tests)."""
    trunk_external_address: str = ""
    """The public address the carrier sees when Asterisk is behind NAT (SIP and RTP)."""
    trunk_qualify_s: int = 30
    """Seconds between OPTIONS pings of each trunk: a trunk that stops answering is down and
    callbacks wait (not counted as attempts) until one is up again."""

    job_retry_intervals: tuple[int, ...] = (10, 30, 60, 300, 900)
    """Waits between RQ retries of a job that failed for a passing reason (5xx, timeout)."""
    outbox_max_attempts: int = 10
    """Times an outbox row is handed to RQ (lost or abandoned jobs) before it is given up."""
    relay_interval_ms: int = 100
    """The relay's poll: a commit that owes an effect wakes it at once (``tawasul.outbox``);
    the poll relays what a missed wake-up left, and rows that became due later (retries)."""
    worker_heartbeat_s: int = 10

    service_level_threshold_s: int = 60
    """Answered within this many seconds counts towards the service level."""
    short_abandon_s: int = 5
    """Callers who give up sooner are short abandons: counted, but out of the rates."""
    capacity_per_hour: int = 80
    """Callers an hour a centre is staffed for (the seed centre's figure)."""
    alert_waiting_callers: int = 3
    """The supervisor's alert when more callers than this wait in a branch queue: at the seed
    centre's 80 callers an hour, 80 × 60 s / 3600 s ≈ 1.3 callers arrive within the minute a
    caller should wait at most; more than twice that waiting means the queue is falling behind.
    The other alert is a wait longer than ``service_level_threshold_s``."""

    input_attempts: int = 3
    """Wrong or missing keypad entries before the caller is offered an agent."""
    digit_timeout_ms: int = 6000

    api_port: int = 8080
    """The agent API (``tawasul api``) listens on ``api_host`` at this port."""
    api_secure_cookies: bool = False
    """Mark the console's session cookie Secure (``tawasul api`` does so itself over HTTPS)."""
    video_meeting_base_url: str = "https://meet.example.invalid/tawasul"
    """Video-call appointments get a link under this URL with an unguessable room name."""
    identity_provider: str = "sms"
    """How agents verify a requester: "sms" (one-time code) or "national" (e-services API)."""
    identity_api_url: str = ""
    """Base URL of the national e-services identity API (``identity_provider = "national"``)."""
    identity_api_timeout_s: int = 10
    portal_keys: tuple[str, ...] = ()
    """The e-services portal's signing keys, "<key id>:<secret>" each (several during a
    rotation); empty: the portal intake endpoint refuses every call."""
    portal_replay_window_s: int = 300
    """A signed portal call older (or newer) than this is refused; within it, seen once."""
    document_max_bytes: int = 10 * 1024 * 1024
    """The largest scanned document (telegram, walk-in letter) an agent may upload."""
    click_to_call_timeout_s: int = 45

    api_host: str = "127.0.0.1"
    """The address ``tawasul api`` listens on. Anything but a loopback address needs
    ``tls_cert_file`` and ``tls_key_file``: plain HTTP never leaves the machine."""
    api_workers: int = 2
    """gunicorn worker processes of ``tawasul api`` (each with its own threads)."""
    api_consoles: int = 60
    """Consoles (agents and supervisors signed in) open at once: each holds an event stream,
    so the API's threads are sized from it (``tawasul_cli.web.gunicorn_options``)."""
    tls_cert_file: str = ""
    """PEM certificate (with its chain) of the console, the API and Asterisk's secure websocket;
    with ``tls_key_file``, ``tawasul api`` serves HTTPS only."""
    tls_key_file: str = ""
    """PEM private key of ``tls_cert_file`` (readable by the service user only)."""
    asterisk_tls_port: int = 8089
    """Asterisk's HTTPS port (http.conf ``tlsbindaddr``): the console's WebRTC phone connects
    to its secure websocket there."""

    @property
    def tls(self) -> bool:
        """True when a certificate and its key are configured (HTTPS, secure websocket)."""
        return bool(self.tls_cert_file and self.tls_key_file)

    # -- the agents' phones (tawasul.sip_accounts, providers.sip_endpoints) ------------------
    asterisk_http_port: int = 8088
    """Asterisk's HTTP server (on 127.0.0.1): the WebRTC phones' websocket is ``/ws`` on it."""
    sip_ws_url: str = ""
    """The websocket URL the console's phone registers to; empty: ``ws://127.0.0.1:<port>/ws``.
    Production puts TLS in front (``wss://...``), see docs/security.md."""
    sip_server: str = ""
    """The SIP server a desk phone is told to register to; empty: ``127.0.0.1:<sip_port>``."""
    ami_reload_username: str = "tawasul-reload"
    """The AMI user that may only reload res_pjsip (generated endpoints), nothing else."""
    ami_reload_secret: str = ""
    """Empty means read ``<var_dir>/asterisk/ami-reload.secret`` (``tawasul asterisk up``)."""
    sip_accounts_file: str = ""
    """The generated endpoints file Asterisk includes; empty: under ``asterisk_root``."""
    sip_block_after: int = 5
    """Failed SIP registrations from one address within ``sip_block_window_s`` before it is
    refused for ``sip_block_s``."""
    sip_block_window_s: int = 300
    sip_block_s: int = 900
    dispositions: tuple[str, ...] = (
        "resolved=تم الحل|Resolved",
        "request_filed=تم تسجيل طلب|Request filed",
        "information=استفسار|Information given",
        "callback=معاودة اتصال|Callback needed",
        "wrong_number=رقم خاطئ|Wrong number",
        "dropped=انقطع الاتصال|Call dropped",
    )
    """The wrap-up codes an agent chooses after a call, "<code>=<Arabic>|<English>"."""
    after_call_work_s: int = 10
    """After-call work after a queue call: the member is not rung for this long (written into
    the branch queues' ``wrapuptime`` by ``tawasul asterisk up``) and the console counts it
    down."""

    def __post_init__(self) -> None:
        if self.smpp_sender_id and not valid_sender_id(self.smpp_sender_id):
            raise ConfigError(
                f"smpp_sender_id {self.smpp_sender_id!r}: 1 to 11 letters, digits or "
                "'space . & _ -', at least one letter"
            )
        if self.sms_provider == "smpp" and not self.smpp_sender_id:
            raise ConfigError("sms_provider is smpp but smpp_sender_id is empty")

    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to SQLite under the var directory."""
        return self.database_url or f"sqlite:///{self.var_dir / 'tawasul.db'}"

    def resolved_secret_key(self) -> str:
        """Return the master key for personal data.

        Raises:
            ConfigError: when no key is configured: the system fails closed rather than store
                national IDs without protection.
        """
        if self.secret_key:
            return self.secret_key
        path = Path(self.secret_key_file) if self.secret_key_file else self.var_dir / "secret.key"
        try:
            key = path.read_text(encoding="ascii").strip()
        except FileNotFoundError as exc:
            raise ConfigError(
                f"no secret key: set TAWASUL_SECRET_KEY or create {path} (tawasul keygen)"
            ) from exc
        if not key:
            raise ConfigError(f"the secret key file {path} is empty")
        return key

    def files_dir(self) -> Path:
        """Where encrypted recordings and documents live (under voice/ and documents/)."""
        return self.var_dir

    def resolved_ami_secret(self) -> str:
        """Return the AMI secret, from the setting or from the file the Asterisk harness wrote."""
        if self.ami_secret:
            return self.ami_secret
        path = self.var_dir / "asterisk" / "ami.secret"
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError as exc:
            raise ConfigError(f"no AMI secret: set TAWASUL_AMI_SECRET or create {path}") from exc

    def resolved_ami_reload_secret(self) -> str:
        """Return the reload user's AMI secret, from the setting or the harness's file."""
        if self.ami_reload_secret:
            return self.ami_reload_secret
        path = self.var_dir / "asterisk" / "ami-reload.secret"
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError as exc:
            raise ConfigError(
                f"no AMI reload secret: set TAWASUL_AMI_RELOAD_SECRET or create {path}"
            ) from exc

    def resolved_sip_ws_url(self) -> str:
        """The websocket URL of the console's phone."""
        if self.sip_ws_url:
            return self.sip_ws_url
        if self.tls:
            # Asterisk's HTTPS server (tawasul_cli.asterisk.http_tls_section) listens there.
            host = f"[{self.api_host}]" if ":" in self.api_host else self.api_host
            return f"wss://{host}:{self.asterisk_tls_port}/ws"
        return f"ws://127.0.0.1:{self.asterisk_http_port}/ws"


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    try:
        if kind in ("Path", Path):
            return Path(raw)
        if kind in ("int", int):
            return int(raw)
        if kind in ("bool", bool):
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(raw)
            return lowered in ("1", "true", "yes", "on")
        if kind in ("tuple[int, ...]",):
            items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(int(str(item).strip()) for item in items if str(item).strip())
        if kind in ("tuple[str, ...]",):
            if isinstance(raw, list | tuple):
                return tuple(str(item) for item in raw)
            return tuple(item.strip() for item in str(raw).split(",") if item.strip())
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: cannot use {raw!r} ({exc})") from exc


def load_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the settings: defaults, then the TOML file, then the environment.

    The file is ``path`` if given, else ``$TAWASUL_CONFIG``, else ``<var_dir>/tawasul.toml`` if it
    exists.

    Raises:
        ConfigError: for an unknown key in the file or a value of the wrong type.
    """
    env = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}

    def env_value(name: str) -> str | None:
        return env.get(ENV_PREFIX + name.upper())

    var_dir = env_value("var_dir")
    if var_dir:
        values["var_dir"] = Path(var_dir)
    default_var = values.get("var_dir", Path.cwd() / "var")

    config_path = path or env.get(ENV_PREFIX + "CONFIG")
    candidate = Path(config_path) if config_path else Path(default_var) / "tawasul.toml"
    if candidate.exists():
        try:
            with candidate.open("rb") as handle:
                from_file = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{candidate}: not valid TOML ({exc})") from exc
        for key, raw in from_file.items():
            if key not in fields:
                raise ConfigError(f"{candidate}: unknown setting {key!r}")
            values[key] = _coerce(key, fields[key].type, raw)
    elif config_path:
        raise ConfigError(f"configuration file {candidate} does not exist")

    for name, spec in fields.items():
        raw_env = env_value(name)
        if raw_env is not None:
            values[name] = _coerce(name, spec.type, raw_env)
    return Settings(**values)
