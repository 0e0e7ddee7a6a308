"""SMS gateways behind the core's ``SmsSender`` port: an HTTP gateway, and local storage."""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tawasul.masking import mask_phone
from tawasul.ports import DeliveryError, SmsReceipt

log = logging.getLogger(__name__)

CONNECT_AND_READ_TIMEOUT_S = 10


def post_json(
    url: str, body: bytes, headers: dict[str, str], timeout_s: float = CONNECT_AND_READ_TIMEOUT_S
) -> dict[str, Any]:
    """POST a JSON body; return the JSON answer.

    Raises:
        DeliveryError: permanent for 4xx, not permanent for 5xx, timeouts and network errors.
    """
    request = urllib.request.Request(  # noqa: S310 (the URL is the operator's configuration)
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310
            raw = answer.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode("utf-8", "replace")
        raise DeliveryError(f"HTTP {exc.code}: {detail}", permanent=exc.code < 500) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"unreachable: {exc}", permanent=False) from exc
    try:
        answer_json = json.loads(raw or b"{}")
    except ValueError:
        answer_json = {}
    return answer_json if isinstance(answer_json, dict) else {}


class HttpSmsGateway:
    """An SMS gateway over HTTP: JSON body, bearer token, idempotency key header."""

    name = "http"

    def __init__(self, url: str, token: str, timeout_s: float = CONNECT_AND_READ_TIMEOUT_S) -> None:
        self._url = url
        self._token = token
        self._timeout_s = timeout_s

    def send(self, to_number: str, body: str, idempotency_key: str) -> SmsReceipt:
        """POST ``{"to", "body", "reference"}``; the gateway answers ``{"id", "status"}``."""
        payload = json.dumps({"to": to_number, "body": body, "reference": idempotency_key})
        answer = post_json(
            self._url,
            payload.encode("utf-8"),
            {"Authorization": f"Bearer {self._token}", "Idempotency-Key": idempotency_key},
            self._timeout_s,
        )
        return SmsReceipt(
            str(answer.get("id") or idempotency_key), delivered=answer.get("status") == "delivered"
        )


class LocalSmsProvider:
    """Keeps messages on this machine (one file each) for the console and the demo.

    A file per idempotency key, created exclusively: asking twice stores one message.
    """

    name = "local"

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def send(self, to_number: str, body: str, idempotency_key: str) -> SmsReceipt:
        """Store the message; a second call with the same key changes nothing."""
        path = self._directory / f"{idempotency_key}.json"
        record = {"to": to_number, "body": body, "key": idempotency_key, "at": time.time()}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return SmsReceipt(idempotency_key, delivered=True)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, ensure_ascii=False)
        log.info("SMS kept locally for %s", mask_phone(to_number))
        return SmsReceipt(idempotency_key, delivered=True)
