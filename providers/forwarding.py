"""Forwarders behind the core's ``Forwarder`` port: the ministry's webhook, and local storage."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from providers.sms import post_json


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature the ministry checks: HMAC-SHA256 over ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return "sha256=" + mac.hexdigest()


class HttpForwarder:
    """The ministry's webhook: signed body, idempotency key; the receiver deduplicates."""

    def __init__(self, url: str, secret: str) -> None:
        self._url = url
        self._secret = secret

    def forward(self, document: dict[str, Any], idempotency_key: str) -> str:
        """POST the document with ``X-Tawasul-Timestamp`` and ``X-Tawasul-Signature``."""
        body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        timestamp = str(int(time.time()))
        answer = post_json(
            self._url,
            body,
            {
                "Idempotency-Key": idempotency_key,
                "X-Tawasul-Timestamp": timestamp,
                "X-Tawasul-Signature": signature(self._secret, timestamp, body),
            },
        )
        return str(answer.get("id") or idempotency_key)


class LocalForwarder:
    """Where no webhook is configured (the demo): documents kept under a directory."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def forward(self, document: dict[str, Any], idempotency_key: str) -> str:
        """Store the document as ``<key>.json`` (idempotent)."""
        path = self._directory / f"{idempotency_key}.json"
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]
        if not path.exists():
            temporary = path.with_suffix(".partial")
            temporary.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
            temporary.chmod(0o600)
            temporary.rename(path)
        return digest
