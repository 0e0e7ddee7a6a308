"""A local HTTP receiver standing in for an SMS gateway or the ministry's webhook."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request the stub received."""

    key: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


@dataclass
class Answer:
    """What the stub answers: a status, and optionally a delay first."""

    status: int = 200
    delay_s: float = 0.0


@dataclass
class HttpStub:
    """Records every POST; ``behaviour(n)`` decides the answer to the n-th one (from 1)."""

    behaviour: Callable[[int], Answer] = lambda n: Answer()
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where to POST."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/messages"

    def accepted_keys(self) -> list[str]:
        """Idempotency keys of the POSTs answered 2xx (duplicates included)."""
        return [r.key for r in self.received if r.headers.get("x-answered") == "2xx"]

    def start(self) -> HttpStub:
        """Listen on a free loopback port."""
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with stub._lock:
                    number = len(stub.received) + 1
                    record = Received(
                        self.headers.get("Idempotency-Key", ""),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                    stub.received.append(record)
                answer = stub.behaviour(number)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                if 200 <= answer.status < 300:
                    record.headers["x-answered"] = "2xx"
                reply = json.dumps({"id": f"gw-{record.key}", "status": "accepted"}).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
