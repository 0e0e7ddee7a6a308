"""The FastAGI server: one thread and one database session per call, routed by script name."""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ivr import variables as var
from ivr.agi import AGIError, AGIHangup, StreamChannel
from ivr.guard import forbid_open_transactions
from ivr.scripts.base import CallContext, Script
from tawasul.config import Settings
from tawasul.intake import IntakeService
from tawasul.models import CallOutcome

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_S = 900
"""Longest silence from Asterisk on one call (a voice message is recorded well within it)."""


def script_name(env: Mapping[str, str]) -> str:
    """Return the script a FastAGI request asks for: agi://host:port/<name>?query."""
    raw = env.get("agi_network_script", "")
    return raw.split("?", 1)[0].strip("/")


class CallRunner:
    """Runs one AGI script on one channel and always leaves the dialplan a clear status."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        intake: IntakeService,
        scripts: Mapping[str, Script],
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.intake = intake
        self.scripts = scripts

    def run(self, channel: StreamChannel | Any, name: str) -> None:
        """Run script ``name``; on any failure mark the call and tell the dialplan FAILED."""
        script = self.scripts.get(name)
        if script is None:
            log.error("unknown AGI script %r on %s", name, channel.uniqueid)
            _set_status(channel, var.STATUS_FAILED)
            return
        status = self._run_script(script, channel, name)
        if status is not None:
            # Told after the session is closed: no transaction is open while Asterisk waits.
            _set_status(channel, status)

    def _run_script(self, script: Script, channel: StreamChannel | Any, name: str) -> str | None:
        with self.session_factory() as session:
            ctx = CallContext(self.settings, session, self.intake)
            channel.before_command = forbid_open_transactions(session)
            try:
                script(channel, ctx)
            except AGIHangup:
                log.info("caller hung up during %s on %s", name, channel.uniqueid)
                self._close(ctx, CallOutcome.HUNG_UP)
                return None
            except Exception:
                # Log with context and send the caller down the dialplan's failure path: never
                # dead air. Personal data is masked by the log filter, not by luck.
                log.exception("AGI script %s failed on %s", name, channel.uniqueid)
                self._close(ctx, CallOutcome.FAILED)
                return var.STATUS_FAILED
            self._close(ctx, None)
            return var.STATUS_OK

    def _close(self, ctx: CallContext, outcome: CallOutcome | None) -> None:
        if ctx.call is None:
            return
        try:
            self.intake.close_call(ctx.session, ctx.call, outcome)
        except Exception:
            log.exception("could not record the end of call %s", ctx.call.uniqueid)


def _set_status(channel: Any, status: str) -> None:
    try:
        channel.set_variable(var.AGI_STATUS, status)
    except AGIError:
        pass  # the channel is gone; the dialplan's h extension sees no status, which is a failure


class _Handler(socketserver.BaseRequestHandler):
    server: FastAGIServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(SOCKET_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("r", encoding="utf-8", errors="replace", newline="\n")
        writer = sock.makefile("w", encoding="utf-8", newline="\n")
        try:
            channel = StreamChannel(reader, writer)
        except (AGIError, OSError) as exc:
            log.warning("bad FastAGI connection from %s: %s", self.client_address, exc)
            return
        try:
            self.server.runner.run(channel, script_name(channel.env))
        finally:
            for stream in (writer, reader):
                try:
                    stream.close()
                except OSError:
                    pass


class FastAGIServer(socketserver.ThreadingTCPServer):
    """A threaded FastAGI server; ``serve_forever`` in one thread, a thread per call."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], runner: CallRunner) -> None:
        self.runner = runner
        super().__init__(address, _Handler)

    @classmethod
    def on_socket(cls, sock: socket.socket, runner: CallRunner) -> FastAGIServer:
        """A server accepting on a socket already listening, one a parent process bound and
        shares with its other FastAGI processes (``tawasul_cli.agi_pool``); serve it with
        :meth:`accept_forever`."""
        server = cls.__new__(cls)
        server.runner = runner
        socketserver.BaseServer.__init__(server, sock.getsockname(), _Handler)
        server.socket = sock
        return server

    def accept_forever(self) -> None:
        """Serve a listening socket shared with other processes, in a blocking ``accept``.

        Not ``serve_forever``: it polls, and every process polling the socket wakes for each
        connection, the one least busy right then taking nearly all of them. Processes blocked in
        ``accept`` are woken one at a time, the longest waiting first, so the calls are dealt
        round the processes in turn. It returns only when the socket is closed; a process that
        stops simply exits (the call threads are daemons, as with ``serve_forever``).
        """
        while True:
            try:
                request, address = self.socket.accept()
            except OSError:
                if self.socket.fileno() < 0:
                    return
                # A connection reset before it was accepted, or the parent not listening yet.
                time.sleep(0.05)
                continue
            try:
                self.process_request(request, address)
            except (RuntimeError, OSError):
                # No thread could be started for it: the call is dropped, this process goes on.
                log.exception("could not start a thread for the call from %s", address)
                self.shutdown_request(request)

    @property
    def port(self) -> int:
        """The port actually bound (useful when asked for port 0)."""
        return int(self.server_address[1])

    def start_in_thread(self) -> threading.Thread:
        """Serve in a daemon thread and return it (for tests and embedding)."""
        thread = threading.Thread(target=self.serve_forever, name="fastagi", daemon=True)
        thread.start()
        return thread
