"""Trunk settings: reading them, numbers written for the carrier, and the generated config."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tawasul.config import Settings, load_settings
from tawasul.errors import ConfigError
from tawasul.ids import normalize_e164
from tawasul.trunks import (
    NumberFormat,
    TrunkAuth,
    carrier_plan,
    dialled_forms,
    format_number,
    parse_trunk,
)
from tawasul_cli.asterisk import trunks_dialplan, trunks_pjsip_conf

STC = "stc host=203.0.113.10:5060 codecs=alaw callerid_format=national from_domain=centre.example"
MOBILY = "mobily host=sip.mobily.example auth=register username=0114567890 password=s3cr3t"


def with_trunks(**values: object) -> Settings:
    base = {
        "trunks": (STC, MOBILY),
        "trunk_dids": (
            "0112345678=riyadh",
            "966126543210=jeddah",
            "+966148765432=medina",
            "00966112345699=fax",
        ),
    }
    return dataclasses.replace(Settings(), **{**base, **values})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        (NumberFormat.E164, "+966501234567"),
        (NumberFormat.INTERNATIONAL, "966501234567"),
        (NumberFormat.NATIONAL, "0501234567"),
        (NumberFormat.PREFIX00, "00966501234567"),
    ],
)
def test_numbers_are_written_the_way_the_carrier_wants(style, expected):
    assert format_number("+966501234567", style, "966") == expected
    assert normalize_e164(expected) == "+966501234567"  # and read back the same


def test_a_foreign_number_written_nationally_keeps_its_country_code():
    assert format_number("+442071234567", NumberFormat.NATIONAL, "966") == "00442071234567"


def test_a_did_is_matched_in_every_form_a_carrier_writes_it():
    assert set(dialled_forms("+966112345678", "966")) == {
        "+966112345678",
        "966112345678",
        "0112345678",
        "00966112345678",
        "112345678",
    }


def test_an_ip_trunk_defaults_to_matching_its_host_and_g711():
    trunk = parse_trunk(STC)
    assert trunk.auth == TrunkAuth.IP
    assert trunk.match == ("203.0.113.10",)
    assert trunk.codecs == ("alaw",)
    assert trunk.dial_format == NumberFormat.INTERNATIONAL
    assert trunk.callerid_format == NumberFormat.NATIONAL
    assert trunk.endpoint == "trunk-stc"


def test_a_registration_trunk_reads_its_password_from_a_file(tmp_path: Path):
    secret = tmp_path / "mobily.secret"
    secret.write_text("from-a-file\n")
    trunk = parse_trunk(
        f"mobily host=sip.mobily.example auth=register username=u password_file={secret}"
    )
    assert (trunk.auth, trunk.username, trunk.password, trunk.match) == (
        TrunkAuth.REGISTER,
        "u",
        "from-a-file",
        (),
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("stc", "host is required"),
        ("STC host=a", "a name is"),
        ("stc host=a auth=token", "auth must be one of ip, register"),
        ("stc host=a colour=red", "unknown key 'colour'"),
        ("stc host=a codecs=alaw|speex", "codecs"),
        ("stc host=a dial_format=local", "dial_format must be one of e164, international"),
        ("stc host=a auth=register username=u", "needs username and password"),
        ("stc host=a password=p", "needs a username"),
        ("stc host=a password=p;x username=u", "not allowed"),
        ("stc host=a]b", "not allowed"),
        ("stc host=a\n[evil]", "not key=value"),
        ("stc host=a username=u#x password=p", "not allowed"),
        ("stc host=a match=1.2.3.4|[x]", "not allowed"),
        ("stc host=a from_domain=a;b", "not allowed"),
        ("stc host", "not key=value"),
    ],
)
def test_a_malformed_trunk_is_refused_with_its_name(spec, problem):
    with pytest.raises(ConfigError, match=re.escape(problem)):
        parse_trunk(spec)


def test_the_plan_reads_dids_in_any_form_and_presents_each_branchs_first_did():
    plan = carrier_plan(with_trunks())
    assert plan.dids == {
        "+966112345678": "riyadh",
        "+966126543210": "jeddah",
        "+966148765432": "medina",
        "+966112345699": "fax",
    }
    assert plan.presented == {
        "riyadh": "+966112345678",
        "jeddah": "+966126543210",
        "medina": "+966148765432",
    }


def test_a_presented_number_can_be_set_apart_from_the_dids():
    plan = carrier_plan(with_trunks(trunk_presented_numbers=("jeddah=920012345",)))
    assert plan.presented["jeddah"] == "+966920012345"


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"trunk_dids": ("0112345678=dammam",)}, "neither a branch nor fax"),
        ({"trunk_dids": ("01123x=riyadh",)}, "not a phone number"),
        ({"trunk_dids": ("0112345678=riyadh", "966112345678=jeddah")}, "given twice"),
        ({"trunk_dids": ("0112345678",)}, "<left>=<right>"),
        ({"trunk_presented_numbers": ("dammam=0112345678",)}, "not a branch"),
        ({"trunks": (STC, STC)}, "same name"),
        ({"trunk_bind": "203.0.113.5"}, "an address:port"),
        ({"trunk_bind": "0.0.0.0:5060\n[x]"}, "an address:port"),
        ({"trunk_bind": "0.0.0.0:5060", "sip_port": 5060}, "another port than sip_port"),
        ({"trunk_external_address": "198.51.100.7 x"}, "trunk_external_address"),
    ],
)
def test_a_bad_plan_is_refused(values, problem):
    with pytest.raises(ConfigError, match=re.escape(problem)):
        carrier_plan(with_trunks(**values))


def test_trunks_come_from_the_file_and_from_the_environment(tmp_path: Path):
    path = tmp_path / "tawasul.toml"
    path.write_text(
        'trunks = ["stc host=203.0.113.10 codecs=alaw|ulaw"]\n'
        'trunk_dids = ["0112345678=riyadh", "0112345699=fax"]\n'
    )
    from_file = load_settings(path, environ={})
    assert carrier_plan(from_file).trunks[0].codecs == ("alaw", "ulaw")
    from_env = load_settings(
        path,
        environ={
            "TAWASUL_TRUNKS": f"{STC}, {MOBILY}",
            "TAWASUL_TRUNK_PRESENTED_NUMBERS": "riyadh=0112345600",
        },
    )
    plan = carrier_plan(from_env)
    assert [trunk.name for trunk in plan.trunks] == ["stc", "mobily"]
    assert plan.presented == {"riyadh": "+966112345600"}


def test_without_trunks_nothing_is_generated():
    plan = carrier_plan(Settings())
    assert not plan.enabled
    assert trunks_pjsip_conf(Settings(), plan) == ""
    assert "exten" not in trunks_dialplan(plan)


def _context(dialplan: str, name: str) -> list[str]:
    body = dialplan.split(f"[{name}]\n", 1)[1].split("\n[", 1)[0]
    return [line for line in body.splitlines() if line and not line.startswith(";")]


def test_the_carriers_calls_reach_the_menus_and_nothing_else():
    dialplan = trunks_dialplan(carrier_plan(with_trunks()))
    inbound = _context(dialplan, "tawasul-from-trunk")
    # Literal DIDs only (no pattern that could take any number), each a Goto to its branch.
    assert len(inbound) == 4 * 5
    for line in inbound:
        assert re.fullmatch(
            r"exten => \+?[0-9]+,1,Goto\(tawasul-did,(riyadh|jeddah|medina|fax),1\)", line
        ), line
    dids = _context(dialplan, "tawasul-did")
    targets = set(re.findall(r"Goto\(([a-z-]+),s,1\)", "\n".join(dids)))
    assert targets == {"tawasul-ivr", "tawasul-fax"}
    for line in inbound + dids:
        assert not re.search(r"include|Dial|Originate|Transfer|Gosub|Macro|Exec", line), line


def test_the_trunk_endpoints_refuse_transfers_and_land_in_the_inbound_context():
    settings = with_trunks(
        trunk_bind="0.0.0.0:5060", trunk_external_address="198.51.100.7", sip_port=5070
    )
    conf = trunks_pjsip_conf(settings, carrier_plan(settings))
    endpoints = [section for section in conf.split("\n[") if "type = endpoint" in section]
    assert len(endpoints) == 2
    for section in endpoints:
        assert "context = tawasul-from-trunk" in section
        assert "allow_transfer = no" in section
        assert "transport = transport-trunk" in section
        assert "media_address = 127.0.0.1" not in section
    assert "bind = 0.0.0.0:5060" in conf
    assert "external_media_address = 198.51.100.7" in conf
    assert "match = 203.0.113.10" in conf
    assert "type = registration" in conf and "line = yes" in conf
    assert "password = s3cr3t" in conf
    assert "from_domain = centre.example" in endpoints[0]
    assert "from_domain" not in endpoints[1]


def test_callbacks_present_the_branchs_number_as_each_trunk_writes_it():
    dialplan = trunks_dialplan(carrier_plan(with_trunks()))
    assert _context(dialplan, "tawasul-presented-stc")[2] == (
        "exten => jeddah,1,Set(CALLERID(num)=0126543210)"
    )
    assert _context(dialplan, "tawasul-presented-mobily")[2] == (
        "exten => jeddah,1,Set(CALLERID(num)=966126543210)"
    )
    out = "\n".join(_context(dialplan, "tawasul-trunk-out"))
    # The trunks in the order given, each skipped when its qualify says it is down.
    assert out.index("PJSIP/trunk-stc") < out.index("PJSIP/trunk-mobily")
    assert "Dial(PJSIP/${EXTEN:1}@trunk-stc)" in out
    assert "Result: TRUNK_DOWN" in out
