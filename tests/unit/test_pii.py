"""Personal data at rest: keyed fingerprints and AES-GCM tokens under derived keys."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from tawasul.errors import ConfigError
from tawasul.pii import PiiProtector, decode_key, generate_key

FIXED_MASTER = bytes(range(32))
FIXED_KEY = base64.urlsafe_b64encode(FIXED_MASTER).decode("ascii")
OTHER_KEY = base64.urlsafe_b64encode(bytes(range(1, 33))).decode("ascii")
NATIONAL_ID = "1012345678"


def derive(master: bytes, purpose: bytes) -> bytes:
    """The documented derivation, written independently: HMAC-SHA256(master, "tawasul/" + p)."""
    return hmac.new(master, b"tawasul/" + purpose, hashlib.sha256).digest()


@pytest.fixture(scope="module")
def protector() -> PiiProtector:
    return PiiProtector.from_master_key(FIXED_KEY)


@pytest.fixture(scope="module")
def other() -> PiiProtector:
    return PiiProtector.from_master_key(OTHER_KEY)


# -- keys ------------------------------------------------------------------------------------


def test_generate_key_gives_fresh_32_byte_keys():
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert len(key) == 44
        assert decode_key(key) == base64.urlsafe_b64decode(key)
        assert len(decode_key(key)) == 32


def test_decode_key_returns_the_raw_bytes():
    assert decode_key(FIXED_KEY) == FIXED_MASTER


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        base64.urlsafe_b64encode(b"\x01" * 16).decode(),
        base64.urlsafe_b64encode(b"\x01" * 31).decode(),
        base64.urlsafe_b64encode(b"\x01" * 33).decode(),
        base64.urlsafe_b64encode(b"\x01" * 64).decode(),
        FIXED_KEY[:-1],  # broken padding
        "not a key",
        "مفتاح",  # not ASCII at all
    ],
)
def test_bad_keys_raise_config_error(encoded):
    with pytest.raises(ConfigError):
        decode_key(encoded)
    with pytest.raises(ConfigError):
        PiiProtector.from_master_key(encoded)


# -- fingerprints ----------------------------------------------------------------------------


def test_fingerprint_is_stable_across_protectors_of_the_same_key(protector):
    again = PiiProtector.from_master_key(FIXED_KEY)
    assert protector.fingerprint(NATIONAL_ID) == protector.fingerprint(NATIONAL_ID)
    assert again.fingerprint(NATIONAL_ID) == protector.fingerprint(NATIONAL_ID)


def test_fingerprint_matches_the_documented_derivation(protector):
    # Stored fingerprints must survive a code change: pin the derivation to its definition.
    hash_key = derive(FIXED_MASTER, b"hash")
    expected = hmac.new(hash_key, NATIONAL_ID.encode(), hashlib.sha256).hexdigest()
    assert protector.fingerprint(NATIONAL_ID) == expected


def test_fingerprint_depends_on_the_key_and_the_value(protector, other):
    fingerprint = protector.fingerprint(NATIONAL_ID)
    assert len(fingerprint) == 64
    int(fingerprint, 16)
    assert other.fingerprint(NATIONAL_ID) != fingerprint
    assert protector.fingerprint("1012345679") != fingerprint
    # Not a bare hash, nor an HMAC under the master key itself.
    assert fingerprint != hashlib.sha256(NATIONAL_ID.encode()).hexdigest()
    assert fingerprint != hmac.new(FIXED_MASTER, NATIONAL_ID.encode(), hashlib.sha256).hexdigest()


def test_key_id_is_short_and_key_dependent(protector, other):
    assert len(protector.key_id) == 8
    int(protector.key_id, 16)
    assert protector.key_id == hashlib.sha256(derive(FIXED_MASTER, b"key-id")).hexdigest()[:8]
    assert protector.key_id != other.key_id


# -- tokens ----------------------------------------------------------------------------------


@settings(max_examples=50)
@given(st.text())
def test_encrypt_decrypt_round_trip(value):
    protector = PiiProtector.from_master_key(FIXED_KEY)
    token = protector.encrypt(value, "national_id")
    assert protector.decrypt(token, "national_id") == value


def test_token_format_and_no_plaintext(protector):
    token = protector.encrypt(NATIONAL_ID, "national_id")
    version, key_id, body = token.split(":")
    assert version == "v1"
    assert key_id == protector.key_id
    raw = base64.urlsafe_b64decode(body)
    assert len(raw) == 12 + len(NATIONAL_ID) + 16  # nonce, ciphertext, GCM tag
    assert NATIONAL_ID not in token
    assert NATIONAL_ID.encode() not in raw


def test_tokens_differ_each_time(protector):
    tokens = {protector.encrypt(NATIONAL_ID, "national_id") for _ in range(50)}
    assert len(tokens) == 50
    nonces = {base64.urlsafe_b64decode(t.split(":")[2])[:12] for t in tokens}
    assert len(nonces) == 50
    for token in tokens:
        assert protector.decrypt(token, "national_id") == NATIONAL_ID


def test_token_made_independently_with_the_derived_key_decrypts(protector):
    # Pins the token layout: v1:<key id>:b64(nonce + AES-256-GCM(derived key, aad=context)).
    nonce = b"\x07" * 12
    sealed = AESGCM(derive(FIXED_MASTER, b"encrypt")).encrypt(nonce, b"secret", b"phone")
    token = f"v1:{protector.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"
    assert protector.decrypt(token, "phone") == "secret"


def test_wrong_context_fails(protector):
    token = protector.encrypt(NATIONAL_ID, "national_id")
    with pytest.raises(InvalidTag):
        protector.decrypt(token, "phone")


@pytest.mark.parametrize("index", [0, 11, 12, 15, -16, -1])  # nonce, ciphertext, tag
def test_tampered_token_fails(protector, index):
    token = protector.encrypt(NATIONAL_ID, "national_id")
    prefix, body = token.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[index] ^= 0x01
    tampered = f"{prefix}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(InvalidTag):
        protector.decrypt(tampered, "national_id")


def test_truncated_token_fails(protector):
    token = protector.encrypt(NATIONAL_ID, "national_id")
    prefix, body = token.rsplit(":", 1)
    raw = base64.urlsafe_b64decode(body)[:-1]
    with pytest.raises(InvalidTag):
        protector.decrypt(f"{prefix}:{base64.urlsafe_b64encode(raw).decode()}", "national_id")


def test_token_from_another_key_raises_config_error(protector, other):
    token = other.encrypt(NATIONAL_ID, "national_id")
    with pytest.raises(ConfigError, match=other.key_id):
        protector.decrypt(token, "national_id")


def test_token_relabelled_with_our_key_id_still_fails(protector, other):
    token = other.encrypt(NATIONAL_ID, "national_id")
    _, _, body = token.split(":")
    with pytest.raises(InvalidTag):
        protector.decrypt(f"v1:{protector.key_id}:{body}", "national_id")


def test_unknown_token_version_raises_config_error(protector):
    token = protector.encrypt(NATIONAL_ID, "national_id")
    with pytest.raises(ConfigError):
        protector.decrypt("v2" + token[2:], "national_id")
