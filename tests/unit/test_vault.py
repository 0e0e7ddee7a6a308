"""Recordings and documents at rest: encrypted, bound to their name, rotatable, fail closed."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tawasul.errors import ConfigError
from tawasul.vault import MAGIC, Vault, VaultError, parse_keys

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200))


def key(key_id: str) -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"


def test_round_trip_and_not_playable(tmp_path: Path) -> None:
    vault = Vault(tmp_path, parse_keys([key("k0000001")], None))
    path = vault.write("voice/42.wav", WAV)
    raw = path.read_bytes()
    assert raw.startswith(MAGIC) and not raw.startswith(b"RIFF") and WAV[12:] not in raw
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert vault.read(path) == WAV


def test_tampered_or_moved_files_do_not_open(tmp_path: Path) -> None:
    vault = Vault(tmp_path, parse_keys([key("k0000001")], None))
    path = vault.write("voice/42.wav", WAV)
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(VaultError, match="altered"):
        vault.read(path)
    other = vault.write("voice/43.wav", WAV)
    moved = other.with_name("44.wav")
    other.rename(moved)
    with pytest.raises(VaultError, match="altered or moved"):
        vault.read(moved)
    plain = tmp_path / "plain.wav"
    plain.write_bytes(WAV)
    with pytest.raises(VaultError, match="not an encrypted"):
        vault.read(plain)


def test_rotation_without_downtime(tmp_path: Path) -> None:
    old, new = key("old00001"), key("new00001")
    before = Vault(tmp_path, parse_keys([old], None))
    first = before.write("voice/1.wav", WAV)
    during = Vault(tmp_path, parse_keys([new, old], None))
    second = during.write("voice/2.wav", WAV + b"2")
    assert during.key_of(first) == "old00001" and during.key_of(second) == "new00001"
    assert during.read(first) == WAV  # old files stay readable while the new key writes
    assert during.rotate() == (1, 1)
    after = Vault(tmp_path, parse_keys([new], None))
    assert after.read(first) == WAV and after.read(second) == WAV + b"2"
    with pytest.raises(VaultError, match="not configured"):
        before.read(second)


def test_without_a_key_nothing_is_stored(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="refusing to store"):
        parse_keys([], None)
    with pytest.raises(ConfigError):
        parse_keys(["short:abc"], None)


def test_the_master_key_gives_a_default(tmp_path: Path) -> None:
    master = base64.urlsafe_b64encode(os.urandom(32)).decode()
    one = Vault(tmp_path, parse_keys([], master))
    two = Vault(tmp_path, parse_keys([], master))
    assert one.read(one.write("a.wav", WAV)) == WAV
    assert two.read(tmp_path / "a.wav") == WAV
