"""Recordings and documents at rest: authenticated encryption, key rotation without downtime.

A stored file is ``TWSL1`` + the key id (8 bytes) + a 12-byte nonce + AES-256-GCM of the whole
content, the key id and the file's name bound as associated data (a file moved or renamed does
not decrypt). New files are written under the current key (the first of ``storage_keys``);
every listed key can still read, so a rotation is: put the new key first, keep the old one,
run ``tawasul vault rotate`` to re-encrypt, then drop the old key. Without any key the vault
refuses to store anything: the system fails closed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tawasul.config import Settings
from tawasul.errors import ConfigError

MAGIC = b"TWSL1"
STORED_FOLDERS = ("voice", "documents")
"""Where under the var directory recordings and documents live (what ``rotate`` walks)."""
_HEADER = len(MAGIC) + 8 + 12


class VaultError(Exception):
    """A file that is not ours, was tampered with, or whose key is gone."""


@dataclass(frozen=True)
class _Key:
    key_id: bytes
    aead: AESGCM


def _key_from_master(master_b64: str) -> tuple[str, bytes]:
    master = base64.urlsafe_b64decode(master_b64.encode("ascii"))
    derived = hmac.new(master, b"tawasul/files", hashlib.sha256).digest()
    key_id = hashlib.sha256(derived).hexdigest()[:8]
    return key_id, derived


def parse_keys(entries: Iterable[str], master_b64: str | None) -> list[tuple[str, bytes]]:
    """Keys from ``storage_keys`` ("<id>:<base64 32 bytes>", current first), else the master's.

    Raises:
        ConfigError: for a malformed entry, or when there is no key at all.
    """
    keys = []
    for entry in entries:
        key_id, sep, encoded = entry.partition(":")
        if not sep or len(key_id) != 8 or not key_id.isascii():
            raise ConfigError("storage_keys entries are '<8-character id>:<base64 key>'")
        try:
            raw = base64.urlsafe_b64decode(encoded.encode("ascii"))
        except ValueError as exc:
            raise ConfigError(f"storage key {key_id} is not base64") from exc
        if len(raw) != 32:
            raise ConfigError(f"storage key {key_id} must be 32 bytes")
        keys.append((key_id, raw))
    if not keys and master_b64:
        keys.append(_key_from_master(master_b64))
    if not keys:
        raise ConfigError("no key to encrypt recordings and documents: refusing to store them")
    return keys


class Vault:
    """Writes and reads encrypted files under one directory tree."""

    def __init__(self, root: Path, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigError("no key to encrypt recordings and documents: refusing to store them")
        self.root = root
        self._keys = [_Key(key_id.encode("ascii"), AESGCM(raw)) for key_id, raw in keys]

    @property
    def current_key_id(self) -> str:
        """The id new files are written under."""
        return self._keys[0].key_id.decode("ascii")

    def _associated(self, key_id: bytes, path: Path) -> bytes:
        return key_id + b"|" + path.name.encode("utf-8")

    def seal(self, data: bytes, path: Path) -> bytes:
        """The stored form of ``data`` for a file called ``path.name``."""
        key = self._keys[0]
        nonce = os.urandom(12)
        return (
            MAGIC
            + key.key_id
            + nonce
            + key.aead.encrypt(nonce, data, self._associated(key.key_id, path))
        )

    def open(self, blob: bytes, path: Path) -> bytes:
        """The content of a stored file.

        Raises:
            VaultError: not a vault file, tampered with, or under a key no longer configured.
        """
        if len(blob) < _HEADER or not blob.startswith(MAGIC):
            raise VaultError(f"{path.name} is not an encrypted tawasul file")
        key_id = blob[len(MAGIC) : len(MAGIC) + 8]
        nonce = blob[len(MAGIC) + 8 : _HEADER]
        for key in self._keys:
            if key.key_id == key_id:
                try:
                    return key.aead.decrypt(nonce, blob[_HEADER:], self._associated(key_id, path))
                except InvalidTag as exc:
                    raise VaultError(f"{path.name} was altered or moved") from exc
        raise VaultError(
            f"{path.name} is under key {key_id.decode('ascii', 'replace')}, not configured"
        )

    def write(self, relative: str | Path, data: bytes) -> Path:
        """Store ``data`` encrypted at ``root/relative`` (atomically, mode 600); return the path."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_name(path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.seal(data, path))
        partial.rename(path)
        return path

    def read(self, path: Path) -> bytes:
        """The decrypted content of a stored file."""
        return self.open(path.read_bytes(), path)

    def read_any(self, path: Path) -> bytes:
        """Like :meth:`read`, but a plain file from before encryption is returned as it is."""
        blob = path.read_bytes()
        return self.open(blob, path) if blob.startswith(MAGIC) else blob

    def key_of(self, path: Path) -> str:
        """The id of the key a stored file is under."""
        head = path.read_bytes()[:_HEADER]
        if not head.startswith(MAGIC):
            raise VaultError(f"{path.name} is not an encrypted tawasul file")
        return head[len(MAGIC) : len(MAGIC) + 8].decode("ascii", "replace")

    def files(self) -> Iterator[Path]:
        """Every stored file under the root's recording and document folders."""
        candidates = [p for folder in STORED_FOLDERS for p in (self.root / folder).rglob("*")]
        for path in sorted(candidates):
            if path.is_file() and not path.name.endswith(".partial"):
                with path.open("rb") as handle:
                    if handle.read(len(MAGIC)) == MAGIC:
                        yield path

    def rotate(self) -> tuple[int, int]:
        """Re-encrypt every file not under the current key; (re-encrypted, already current)."""
        moved = current = 0
        for path in self.files():
            if self.key_of(path) == self.current_key_id:
                current += 1
                continue
            self.write(path.relative_to(self.root), self.read(path))
            moved += 1
        return moved, current


def vault_for(settings: Settings) -> Vault:
    """The vault of these settings (fails closed without any key)."""
    master: str | None
    try:
        master = settings.resolved_secret_key()
    except ConfigError:
        master = None
    return Vault(settings.files_dir(), parse_keys(settings.storage_keys, master))
