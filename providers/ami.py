"""A small Asterisk Manager Interface client that survives what a call centre throws at it.

It reconnects by itself after an Asterisk restart, keeps a quiet connection alive with pings,
and an exception in one event listener is logged without stopping the others. Outgoing values
may not contain CR or LF, so no caller-supplied value can smuggle in a second AMI action.

Why our own client: the design card named ``asterisk-ami``; measured here, 0.1.7 loses its
listener after 3 s idle, loops on BrokenPipe when reconnecting and dies on an exception in a
handler. pyst2's manager never reconnects. The protocol is small enough to own.
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from tawasul.security_log import record

log = logging.getLogger(__name__)

Message = dict[str, str]
Listener = Callable[[Message], None]

PING_INTERVAL_S = 20.0
BOOT_WAIT_S = 120.0
RECONNECT_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)


class AMIError(Exception):
    """Base of AMI failures."""


class AMIConnectionError(AMIError):
    """Not connected, or the connection dropped before the answer came."""


class AMIActionError(AMIError):
    """Asterisk answered ``Response: Error`` (including "Permission denied")."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message


class AMIValueError(AMIError, ValueError):
    """A header name or value would break the AMI framing."""


def encode_action(headers: Iterable[tuple[str, object]]) -> bytes:
    """Frame one action; refuses CR/LF anywhere (header injection) and odd header names."""
    lines = []
    for name, value in headers:
        text = str(value)
        if not name.replace("-", "").isalnum():
            raise AMIValueError(f"bad AMI header name {name!r}")
        if "\r" in text or "\n" in text:
            raise AMIValueError(f"AMI header {name} may not contain CR or LF")
        lines.append(f"{name}: {text}\r\n")
    try:
        return ("".join(lines) + "\r\n").encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AMIValueError("AMI header values must be valid text") from exc


def parse_message(block: str) -> Message:
    """Parse one message (its lines, without the blank line that ends it).

    A key seen twice keeps every value, joined by newlines (``Output`` of some responses).
    """
    message: Message = {}
    for line in block.split("\r\n"):
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            message.setdefault("_text", "")
            message["_text"] += line + "\n"
            continue
        value = value[1:] if value.startswith(" ") else value
        message[key] = message[key] + "\n" + value if key in message else value
    return message


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    response: Message | None = None


class AMIClient:
    """A thread-safe AMI client: actions from any thread, events to listeners on its thread."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        events: bool = True,
        name: str = "ami",
    ) -> None:
        self.host = host
        self.port = port
        self._username = username
        self._secret = secret
        self._events = events
        self._name = name
        self._listeners: list[Listener] = []
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.connections = 0
        """How many times a login succeeded (a reconnect adds one)."""
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, wait_s: float = 10.0, require: bool = True) -> AMIClient:
        """Start the connection thread and wait until logged in.

        Args:
            wait_s: how long to wait for the first login.
            require: if False, return even without a login (the thread keeps trying): for a
                worker that must start while Asterisk is down.

        Raises:
            AMIConnectionError: if ``require`` and no login succeeded within ``wait_s``.
        """
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        if not self.connected.wait(wait_s) and require:
            self.close()
            raise AMIConnectionError(f"no AMI login at {self.host}:{self.port} in {wait_s}s")
        return self

    def close(self) -> None:
        """Log off and stop reconnecting."""
        self._stop.set()
        sock = self._sock
        if sock is not None:
            try:
                sock.sendall(encode_action([("Action", "Logoff")]))
            except OSError:
                pass
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> AMIClient:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- events ----------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every event; returns a function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def wait_for_event(
        self, predicate: Callable[[Message], bool], timeout_s: float
    ) -> Message | None:
        """Block until an event matches, or return None after ``timeout_s``."""
        box: queue.Queue[Message] = queue.Queue()
        remove = self.add_listener(lambda event: box.put(event) if predicate(event) else None)
        try:
            return box.get(timeout=timeout_s)
        except queue.Empty:
            return None
        finally:
            remove()

    # -- actions ---------------------------------------------------------------------------

    def action(
        self,
        action: str,
        headers: Mapping[str, object] | Iterable[tuple[str, object]] = (),
        timeout_s: float = 10.0,
    ) -> Message:
        """Send an action and return its response.

        Raises:
            AMIValueError: when a value holds CR or LF (nothing is sent).
            AMIActionError: when Asterisk answers with an error.
            AMIConnectionError: when not connected or no answer came in time.
        """
        return self._request(action, f"{self._name}-{next(self._ids)}", headers, timeout_s)

    def collect(
        self,
        action: str,
        headers: Mapping[str, object] | Iterable[tuple[str, object]] = (),
        *,
        complete: str,
        timeout_s: float = 10.0,
    ) -> list[Message]:
        """Send an action answered by a list of events (``QueueStatus``...) and return them.

        Args:
            action: the action's name.
            headers: its headers (values checked as for :meth:`action`).
            complete: the event that ends the list (e.g. ``QueueStatusComplete``), not returned.
            timeout_s: how long the response and the whole list may take.

        Raises:
            AMIValueError, AMIActionError, AMIConnectionError: as for :meth:`action`; also when
                the list does not end in time.
        """
        action_id = f"{self._name}-{next(self._ids)}"
        box: queue.Queue[Message] = queue.Queue()
        remove = self.add_listener(
            lambda event: box.put(event) if event.get("ActionID") == action_id else None
        )
        deadline = time.monotonic() + timeout_s
        try:
            self._request(action, action_id, headers, timeout_s)
            events: list[Message] = []
            while True:
                try:
                    event = box.get(timeout=max(deadline - time.monotonic(), 0.0))
                except queue.Empty:
                    raise AMIConnectionError(
                        f"the {action} list did not end in {timeout_s}s"
                    ) from None
                if event.get("Event") == complete:
                    return events
                events.append(event)
        finally:
            remove()

    def _request(
        self,
        action: str,
        action_id: str,
        headers: Mapping[str, object] | Iterable[tuple[str, object]],
        timeout_s: float,
    ) -> Message:
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
        frame = encode_action([("Action", action), ("ActionID", action_id), *pairs])
        pending = _Pending()
        with self._lock:
            self._pending[action_id] = pending
        try:
            self._send(frame)
            if not pending.done.wait(timeout_s):
                raise AMIConnectionError(f"no answer to {action} in {timeout_s}s")
        finally:
            with self._lock:
                self._pending.pop(action_id, None)
        response = pending.response
        if response is None:
            raise AMIConnectionError(f"connection lost before the answer to {action}")
        if response.get("Response") == "Error":
            message = response.get("Message", "error")
            if "permission denied" in message.lower() or "forbidden" in message.lower():
                record("ami_refused", f"ami:{self._username}", action=action, message=message)
            raise AMIActionError(action, message)
        return response

    def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, object] | None = None,
        timeout_ms: int = 30000,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
    ) -> Message:
        """Start a call asynchronously; the ``OriginateResponse`` event tells how it went."""
        headers: list[tuple[str, object]] = [("Channel", channel), ("Async", "true")]
        if application is not None:
            headers += [("Application", application), ("Data", data or "")]
        else:
            headers += [("Context", context or ""), ("Exten", exten or "s")]
            headers += [("Priority", priority)]
        headers.append(("Timeout", timeout_ms))
        if caller_id is not None:
            headers.append(("CallerID", caller_id))
        if channel_id is not None:
            headers.append(("ChannelId", channel_id))
        if other_channel_id is not None:
            headers.append(("OtherChannelId", other_channel_id))
        for name, value in (variables or {}).items():
            if "=" in name or "," in name:
                raise AMIValueError(f"bad variable name {name!r}")
            headers.append(("Variable", f"{name}={value}"))
        return self.action("Originate", headers)

    def _send(self, frame: bytes) -> None:
        sock = self._sock
        if sock is None or not self.connected.is_set():
            raise AMIConnectionError("not connected to AMI")
        try:
            with self._send_lock:
                sock.sendall(frame)
        except OSError as exc:
            raise AMIConnectionError(f"AMI send failed: {exc}") from exc

    # -- connection thread -----------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                self._session()
                attempt = 0
            except (OSError, AMIError) as exc:
                if not self._stop.is_set():
                    log.warning("AMI connection to %s:%s lost: %s", self.host, self.port, exc)
            finally:
                self.connected.clear()
                self._fail_pending()
                if self._sock is not None:
                    self._sock.close()
                    self._sock = None
            if self._stop.is_set():
                break
            delay = RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)]
            attempt += 1
            self._stop.wait(delay)

    def _session(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        reader = _Reader(sock)
        banner = reader.line()
        if not banner.startswith("Asterisk Call Manager"):
            raise AMIError(f"not an AMI server: {banner[:60]!r}")
        login = encode_action(
            [
                ("Action", "Login"),
                ("ActionID", "login"),
                ("Username", self._username),
                ("Secret", self._secret),
                ("Events", "on" if self._events else "off"),
            ]
        )
        sock.sendall(login)
        while True:
            message = parse_message(reader.block())
            if message.get("ActionID") == "login":
                break
        if message.get("Response") != "Success":
            raise AMIError(f"AMI login refused: {message.get('Message', '')}")
        # AMI answers logins early in Asterisk's boot, before the dialplan is loaded (an
        # Originate then fails with "Extension does not exist"). Asterisk tells each session
        # "FullyBooted" once it is; only then is the client connected.
        booted: Message | None = None if self._events else {}
        sock.settimeout(1.0)
        deadline = time.monotonic() + BOOT_WAIT_S
        while booted is None:
            try:
                event = parse_message(reader.block())
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise AMIError("Asterisk did not finish booting") from None
                continue
            if event.get("Event") == "FullyBooted":
                booted = event
        self.connections += 1
        self.connected.set()
        log.info("AMI connected to %s:%s", self.host, self.port)
        if booted:
            self._dispatch(booted)  # listeners learn of a (re)boot too
        last_activity = time.monotonic()
        while not self._stop.is_set():
            try:
                block = reader.block()
            except TimeoutError:
                if time.monotonic() - last_activity > PING_INTERVAL_S:
                    # A dead peer is only noticed by writing to it.
                    self._send(encode_action([("Action", "Ping"), ("ActionID", "keepalive")]))
                    last_activity = time.monotonic()
                continue
            last_activity = time.monotonic()
            self._dispatch(parse_message(block))

    def _dispatch(self, message: Message) -> None:
        if "Response" in message and "Event" not in message:
            with self._lock:
                pending = self._pending.get(message.get("ActionID", ""))
            if pending is not None:
                pending.response = message
                pending.done.set()
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(message)
            except Exception:
                log.exception("AMI event listener failed on %s", message.get("Event"))

    def _fail_pending(self) -> None:
        with self._lock:
            pending = list(self._pending.values())
        for item in pending:
            item.done.set()


class _Reader:
    """Reads CRLF lines and blank-line-terminated blocks from a socket, keeping partial data."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise AMIConnectionError("AMI closed the connection")
        self._buffer += chunk

    def line(self) -> str:
        while b"\r\n" not in self._buffer:
            self._fill()
        raw, self._buffer = self._buffer.split(b"\r\n", 1)
        return raw.decode("utf-8", "replace")

    def block(self) -> str:
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
        raw, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        return raw.decode("utf-8", "replace")
