"""SMPP: receipts read from the text or the TLVs, parts encoded, the sender id and the account."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from providers import build
from providers.smpp import SmppHandover, encode_part, parse_receipt
from tawasul.config import Settings, load_settings
from tawasul.errors import ConfigError
from tawasul.sms_centre import PartToSubmit
from tawasul.sms_parts import SmsEncoding


def _deliver_sm(text: bytes, esm_class: int = 0x04, **tlvs: object) -> SimpleNamespace:
    return SimpleNamespace(esm_class=esm_class, short_message=text, **tlvs)


def test_a_receipt_is_read_from_its_text() -> None:
    text = (
        b"id:7f3a sub:001 dlvrd:000 submit date:2611301200 done date:2611301201"
        b" stat:UNDELIV err:034 text:"
    )
    receipt = parse_receipt(_deliver_sm(text))
    assert receipt is not None
    assert (receipt.centre_message_id, receipt.final, receipt.delivered) == ("7f3a", True, False)
    assert receipt.reason == "stat:UNDELIV err:034"


def test_the_tlvs_win_over_the_text_and_intermediate_states_are_not_final() -> None:
    receipt = parse_receipt(
        _deliver_sm(b"id:1 stat:ENROUTE err:000", receipted_message_id=b"abc", message_state=2)
    )
    assert receipt is not None
    assert (receipt.centre_message_id, receipt.final, receipt.delivered) == ("abc", True, True)
    enroute = parse_receipt(_deliver_sm(b"id:9 stat:ENROUTE err:000"))
    assert enroute is not None and not enroute.final


def test_a_message_from_a_handset_is_no_receipt() -> None:
    assert parse_receipt(_deliver_sm(b"hello", esm_class=0)) is None


def test_parts_carry_data_coding_and_a_concatenation_header() -> None:
    single = PartToSubmit(1, 9, 1, 1, "+966500000001", "Hi {you}", SmsEncoding.GSM7)
    coding, esm, payload = encode_part(single, 9)
    assert (coding, esm) == (0, 0)
    assert payload == b"Hi \x1b(you\x1b)"  # the extension table's escape
    second = PartToSubmit(2, 300, 2, 3, "+966500000001", "مرحبا", SmsEncoding.UCS2)
    coding, esm, payload = encode_part(second, 300 % 256)
    assert (coding, esm) == (8, 0x40)
    assert payload[:6] == bytes((5, 0, 3, 44, 3, 2))
    assert payload[6:].decode("utf-16-be") == "مرحبا"


@pytest.mark.parametrize("sender", ["MOI", "Ministry 1", "A" * 11, "Gov.SA"])
def test_a_registered_sender_id_is_accepted(sender: str) -> None:
    assert load_settings(environ={"TAWASUL_SMPP_SENDER_ID": sender}).smpp_sender_id == sender


@pytest.mark.parametrize("sender", ["A" * 12, "966500000001", "وزارة", "a/b"])
def test_a_sender_id_that_is_not_alphanumeric_or_too_long_is_refused(sender: str) -> None:
    with pytest.raises(ConfigError):
        load_settings(environ={"TAWASUL_SMPP_SENDER_ID": sender})


def test_smpp_needs_a_sender_id_an_account_and_the_database(settings: Settings) -> None:
    with pytest.raises(ConfigError):
        dataclasses.replace(settings, sms_provider="smpp")
    smpp = dataclasses.replace(settings, sms_provider="smpp", smpp_sender_id="MOI")
    with pytest.raises(ConfigError):
        build.sms_sender(smpp, sessions=None)
    account = dataclasses.replace(smpp, smpp_system_id="tawasul")
    with pytest.raises(ConfigError):
        build.sms_sender(account, sessions=None)
    sender = build.sms_sender(account, sessions=object())  # type: ignore[arg-type]
    assert isinstance(sender, SmppHandover)
    assert build.smpp_account(account).sender_id == "MOI"


def test_a_receipt_id_is_looked_up_in_hex_and_decimal() -> None:
    from tawasul.sms_centre import _spellings

    assert _spellings("1000") == ["1000", "3e8", "3E8", "4096"]
    assert _spellings("3e8") == ["3e8", "1000"]
    assert _spellings("abc-1") == ["abc-1"]
