"""SIP trunks to a carrier: which trunks, which DIDs reach which branch, what number is shown.

The settings hold plain strings (so that a TOML file and ``TAWASUL_*`` variables can give
them); this module reads them into a :class:`CarrierPlan`, refusing anything that would not be
safe to write into Asterisk's configuration. ``tawasul_cli.asterisk`` generates the trunks'
``pjsip.conf`` sections and the ``trunks.conf`` dialplan from the plan.

A trunk is written ``"<name> key=value key=value ..."``::

    stc host=203.0.113.10:5060 auth=ip codecs=alaw|ulaw dial_format=international
    mobily host=sip.mobily.example auth=register username=0114567890 password_file=/etc/x

Keys: ``host`` (the carrier's SIP address, required), ``auth`` (``ip``: the carrier knows us by
our address and we know it by ``match``; ``register``: we register with ``username`` and
``password``), ``match`` (addresses or networks the carrier's calls come from, ``|``-separated,
default ``host``), ``username``, ``password`` or ``password_file`` (digest credentials, also
answered when the carrier challenges our calls), ``codecs`` (``|``-separated, default
``alaw|ulaw``), ``dial_format`` and ``callerid_format`` (how numbers are written to the carrier:
``e164`` +966..., ``international`` 966..., ``national`` 0..., ``prefix00`` 00966...),
``from_domain`` (the domain of our From headers, when the carrier asks for one).
Trunks are tried in the order given: the first one up takes the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from tawasul.config import Settings
from tawasul.errors import ConfigError, ValidationError
from tawasul.ids import normalize_e164

FAX = "fax"
"""The target of a DID that takes faxes rather than callers."""

_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")
_BIND = re.compile(r"[A-Za-z0-9.-]{1,253}:[0-9]{1,5}")
_MATCH = re.compile(r"[A-Za-z0-9.:-]{1,253}(/[0-9.]{1,15})?")
_USERNAME = re.compile(r"[A-Za-z0-9_.+-]{1,64}")
_PASSWORD = re.compile(r"[!-~]{1,128}")
"""Printable ASCII without spaces; ``;``, ``#``, ``[`` and ``]`` are refused apart (they would
end or open something in ``pjsip.conf``)."""
_Choice = TypeVar("_Choice", bound=StrEnum)
_CODECS = frozenset({"alaw", "ulaw", "g722", "g729", "gsm", "opus"})


class NumberFormat(StrEnum):
    """How a number is written to the carrier."""

    E164 = "e164"
    """+966112345678"""
    INTERNATIONAL = "international"
    """966112345678"""
    NATIONAL = "national"
    """0112345678 (another country's number keeps its code: 00442071234567)"""
    PREFIX00 = "prefix00"
    """00966112345678"""


class TrunkAuth(StrEnum):
    """How the carrier and the centre know each other."""

    IP = "ip"
    """By address: the carrier's calls are matched by their source (``match``)."""
    REGISTER = "register"
    """By registration: the centre registers with the carrier, whose calls come back to the
    registered contact (Asterisk's ``line`` parameter tells them apart)."""


@dataclass(frozen=True)
class Trunk:
    """One SIP trunk to a carrier."""

    name: str
    host: str
    auth: TrunkAuth = TrunkAuth.IP
    match: tuple[str, ...] = ()
    username: str = ""
    password: str = ""
    codecs: tuple[str, ...] = ("alaw", "ulaw")
    dial_format: NumberFormat = NumberFormat.INTERNATIONAL
    callerid_format: NumberFormat = NumberFormat.INTERNATIONAL
    from_domain: str = ""
    """The domain of our From headers, when the carrier wants its own (or our public name)."""

    @property
    def endpoint(self) -> str:
        """The chan_pjsip endpoint (and AOR, auth, identify, registration) of the trunk; the
        ``trunk-`` prefix keeps it apart from phones' endpoints."""
        return f"trunk-{self.name}"

    @property
    def uri_host(self) -> str:
        """The carrier's address as a SIP URI's host part."""
        return self.host


@dataclass(frozen=True)
class CarrierPlan:
    """Trunks, DIDs and presented numbers, checked and in E.164."""

    trunks: tuple[Trunk, ...]
    dids: dict[str, str]
    """Each DID (E.164) and what it reaches: a branch, or ``fax``."""
    presented: dict[str, str]
    """Each branch's number (E.164), shown to requesters on its callbacks."""
    country_code: str

    @property
    def enabled(self) -> bool:
        """True when a trunk is configured (callbacks go through the carrier)."""
        return bool(self.trunks)


def format_number(e164: str, style: NumberFormat, country_code: str) -> str:
    """Write an E.164 number the way a carrier wants it (see :class:`NumberFormat`)."""
    digits = e164.removeprefix("+")
    if style == NumberFormat.E164:
        return "+" + digits
    if style == NumberFormat.INTERNATIONAL:
        return digits
    if style == NumberFormat.PREFIX00:
        return "00" + digits
    if digits.startswith(country_code):
        return "0" + digits[len(country_code) :]
    return "00" + digits


def dialled_forms(e164: str, country_code: str) -> tuple[str, ...]:
    """Every form a carrier may send a DID in, each of which ``normalize_e164`` reads back as
    ``e164``: the dialplan matches them all, so the centre does not depend on the carrier's."""
    forms = [format_number(e164, style, country_code) for style in NumberFormat]
    national = e164.removeprefix("+" + country_code)
    if national != e164:
        forms.append(national)
    unique = tuple(dict.fromkeys(forms))
    assert all(normalize_e164(form, country_code) == e164 for form in unique)
    return unique


def parse_trunk(spec: str) -> Trunk:
    """Read one ``trunks`` entry.

    Raises:
        ConfigError: naming the trunk and the key that is missing or wrong.
    """
    name, *pairs = spec.split()
    if not _NAME.fullmatch(name):
        raise ConfigError(f"trunk {name!r}: a name is lower-case letters, digits and _")
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not value:
            raise ConfigError(f"trunk {name}: {pair!r} is not key=value")
        values[key] = value
    known = {"host", "auth", "match", "username", "password", "password_file", "codecs"}
    known |= {"dial_format", "callerid_format", "from_domain"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"trunk {name}: unknown key {unknown[0]!r}")

    def checked(key: str, pattern: re.Pattern[str], value: str) -> str:
        if not pattern.fullmatch(value) or any(ch in value for ch in ";#[]"):
            raise ConfigError(f"trunk {name}: {key} has characters that are not allowed")
        return value

    if "host" not in values:
        raise ConfigError(f"trunk {name}: host is required")
    host = checked("host", _HOST, values["host"])

    def choice(key: str, kind: type[_Choice], default: _Choice) -> _Choice:
        try:
            return kind(values.get(key, default))
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise ConfigError(f"trunk {name}: {key} must be one of {allowed}") from None

    auth = choice("auth", TrunkAuth, TrunkAuth.IP)
    dial_format = choice("dial_format", NumberFormat, NumberFormat.INTERNATIONAL)
    callerid_format = choice("callerid_format", NumberFormat, NumberFormat.INTERNATIONAL)
    default_match = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    match = tuple(
        checked("match", _MATCH, item)
        for item in values.get("match", default_match if auth == TrunkAuth.IP else "").split("|")
        if item
    )
    codecs = tuple(values.get("codecs", "alaw|ulaw").split("|"))
    if not codecs or not set(codecs) <= _CODECS:
        raise ConfigError(f"trunk {name}: codecs must be among {', '.join(sorted(_CODECS))}")
    username = checked("username", _USERNAME, values["username"]) if "username" in values else ""
    password = values.get("password", "")
    if "password_file" in values:
        try:
            password = Path(values["password_file"]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"trunk {name}: cannot read password_file ({exc})") from exc
    if password:
        checked("password", _PASSWORD, password)
    if auth == TrunkAuth.REGISTER and not (username and password):
        raise ConfigError(f"trunk {name}: auth=register needs username and password")
    if password and not username:
        raise ConfigError(f"trunk {name}: a password needs a username")
    from_domain = values.get("from_domain", "")
    if from_domain:
        checked("from_domain", _HOST, from_domain)
    return Trunk(
        name,
        host,
        auth,
        match,
        username,
        password,
        codecs,
        dial_format,
        callerid_format,
        from_domain,
    )


def _pairs(entries: tuple[str, ...], setting: str) -> list[tuple[str, str]]:
    out = []
    for entry in entries:
        left, sep, right = entry.partition("=")
        if not sep:
            raise ConfigError(f"{setting}: {entry!r} is not <left>=<right>")
        out.append((left.strip(), right.strip()))
    return out


def carrier_plan(settings: Settings) -> CarrierPlan:
    """Read the trunk settings into a checked plan.

    Raises:
        ConfigError: for a malformed trunk, a DID that is not a phone number or points to no
            branch, two trunks of one name, a presented number for an unknown branch, or a
            transport address that is malformed or takes the loopback transport's port.
    """
    trunks = tuple(parse_trunk(spec) for spec in settings.trunks)
    if settings.trunk_bind:
        if not _BIND.fullmatch(settings.trunk_bind):
            raise ConfigError("trunk_bind: an address:port, e.g. 0.0.0.0:5060")
        if int(settings.trunk_bind.rsplit(":", 1)[1]) == settings.sip_port:
            raise ConfigError("trunk_bind: another port than sip_port (the loopback transport)")
    if settings.trunk_external_address and not _HOST.fullmatch(settings.trunk_external_address):
        raise ConfigError("trunk_external_address: an address or host name")
    names = [trunk.name for trunk in trunks]
    if len(set(names)) != len(names):
        raise ConfigError("trunks: two trunks have the same name")
    country = settings.country_code
    targets = {*settings.branches, FAX}

    def number(value: str, setting: str) -> str:
        try:
            return normalize_e164(value, country, setting)
        except ValidationError as exc:
            raise ConfigError(f"{setting}: {value!r} is not a phone number") from exc

    dids: dict[str, str] = {}
    for did, target in _pairs(settings.trunk_dids, "trunk_dids"):
        if target not in targets:
            raise ConfigError(f"trunk_dids: {target!r} is neither a branch nor fax")
        e164 = number(did, "trunk_dids")
        if e164 in dids:
            raise ConfigError(f"trunk_dids: {did!r} is given twice")
        dids[e164] = target
    presented: dict[str, str] = {}
    for did, target in dids.items():
        if target != FAX:
            presented.setdefault(target, did)  # a branch shows its first DID by default
    for branch, value in _pairs(settings.trunk_presented_numbers, "trunk_presented_numbers"):
        if branch not in settings.branches:
            raise ConfigError(f"trunk_presented_numbers: {branch!r} is not a branch")
        presented[branch] = number(value, "trunk_presented_numbers")
    return CarrierPlan(trunks, dids, presented, country)
