"""Personal data at rest: keyed hashes for matching, authenticated encryption for display.

A national ID is stored twice: as an HMAC-SHA256 under a key of its own (so the same ID always
finds the same requester, and duplicate requests can be spotted) and as an AES-256-GCM token
(so an authorised agent can see it). Neither key is the master key: both are derived from it,
so a leaked hash table tells nothing about the encryption key and the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tawasul.errors import ConfigError

_TOKEN_VERSION = "v1"  # noqa: S105 (a format tag, not a secret)


def _derive(master: bytes, purpose: bytes) -> bytes:
    return hmac.new(master, b"tawasul/" + purpose, hashlib.sha256).digest()


def generate_key() -> str:
    """Return a new random master key, base64 encoded, for the configuration file."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def decode_key(encoded: str) -> bytes:
    """Decode a base64 master key and check its length.

    Raises:
        ConfigError: when the key is not 32 bytes of base64.
    """
    try:
        raw = base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ConfigError("the secret key is not valid base64") from exc
    if len(raw) != 32:
        raise ConfigError("the secret key must be 32 bytes (44 base64 characters)")
    return raw


@dataclass(frozen=True)
class PiiProtector:
    """Hashes and encrypts personal data under keys derived from one master key."""

    key_id: str
    _hash_key: bytes
    _aead: AESGCM

    @classmethod
    def from_master_key(cls, encoded: str) -> PiiProtector:
        """Build a protector from the base64 master key held in the configuration."""
        master = decode_key(encoded)
        key_id = hashlib.sha256(_derive(master, b"key-id")).hexdigest()[:8]
        return cls(key_id, _derive(master, b"hash"), AESGCM(_derive(master, b"encrypt")))

    def fingerprint(self, value: str) -> str:
        """Return the keyed hash used to match a value without storing it in clear."""
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def encrypt(self, value: str, context: str) -> str:
        """Encrypt a value; ``context`` (e.g. "national_id") is bound to the token."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), context.encode("ascii"))
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{_TOKEN_VERSION}:{self.key_id}:{body}"

    def decrypt(self, token: str, context: str) -> str:
        """Decrypt a token made by :meth:`encrypt` with the same context.

        Raises:
            ConfigError: when the token was made under another key.
            cryptography.exceptions.InvalidTag: when the token was tampered with.
        """
        parts = token.split(":", 2)
        if len(parts) != 3:
            raise ConfigError("not a personal-data token")
        version, key_id, body = parts
        if version != _TOKEN_VERSION or key_id != self.key_id:
            raise ConfigError(f"token made under key {key_id}, this process has {self.key_id}")
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
        plain = self._aead.decrypt(raw[:12], raw[12:], context.encode("ascii"))
        return plain.decode("utf-8")
