"""The agent API's production web server: gunicorn, its sizing, TLS and the security headers.

``tawasul api`` runs gunicorn in-process (its application API, no second configuration file):
the options come from the settings, the app is built in each worker after the fork (the AMI
client, the live hub and the database pool are threads and sockets, which a fork does not
carry), and plain HTTP is refused on anything but a loopback address.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication

from tawasul.config import Settings
from tawasul.errors import ConfigError
from tawasul.masking import install_log_scrubbing

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MIN_SPARE_THREADS = 8
HSTS = "max-age=31536000"
"""A year; no ``includeSubDomains``: the centre's other hosts may not all speak HTTPS."""
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
"""Sent on every response that does not set its own (the console's page adds its CSP)."""
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
"""The path without its query string: a search's national ID or number never reaches the log."""


def thread_sizing(consoles: int, workers: int) -> tuple[int, int]:
    """Threads per gunicorn worker, and the connections each may hold.

    A console keeps one server-sent event stream open (``/agent/stream``) and a gthread worker
    gives a request one thread until it ends, so every open console holds a thread. The
    consoles are spread over the workers (``ceil(consoles / workers)`` each); beside their
    streams the same consoles make ordinary calls (the work list, a request, an export,
    click-to-call) and monitors ask ``/health``, so each worker gets half as many threads
    again, and never fewer than ``MIN_SPARE_THREADS`` spare. Idle keep-alive connections hold
    no thread, so a worker accepts twice as many connections as it has threads.

    Args:
        consoles: consoles open at once (``api_consoles``).
        workers: gunicorn worker processes (``api_workers``).

    Returns:
        (threads, worker_connections) for each worker.
    """
    streams = math.ceil(max(consoles, 0) / max(workers, 1))
    threads = streams + max(MIN_SPARE_THREADS, math.ceil(streams / 2))
    return threads, 2 * threads


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Refuse to serve plain HTTP beyond this machine.

    Raises:
        ConfigError: ``api_host`` is not a loopback address and no certificate is configured.
    """
    if not settings.tls and not is_loopback(settings.api_host):
        raise ConfigError(
            f"api_host {settings.api_host!r} is not a loopback address: plain HTTP is served on "
            "127.0.0.1 only. Set tls_cert_file and tls_key_file to serve HTTPS there, or "
            'api_host = "127.0.0.1" behind a TLS proxy.'
        )


def _bind_address(settings: Settings) -> str:
    host = settings.api_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{settings.api_port}"


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn's settings for ``tawasul api``: bind, gthread sizing, TLS, logging."""
    threads, connections = thread_sizing(settings.api_consoles, settings.api_workers)
    options: dict[str, Any] = {
        "bind": [_bind_address(settings)],
        "worker_class": "gthread",
        "workers": max(settings.api_workers, 1),
        "threads": threads,
        "worker_connections": connections,
        # A stream never ends by itself: a stopping worker waits this long, then closes them
        # (the browsers reconnect to the next worker).
        "graceful_timeout": 10,
        "timeout": 60,
        "keepalive": 5,
        "preload_app": False,
        "proc_name": "tawasul-api",
        "accesslog": "-",
        "errorlog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "forwarded_allow_ips": "127.0.0.1,::1",
    }
    if settings.tls:
        options |= {
            "certfile": settings.tls_cert_file,
            "keyfile": settings.tls_key_file,
        }
    return options


class SecurityHeaders:
    """WSGI middleware: the usual security headers, and HSTS when served over TLS."""

    def __init__(self, app: WSGIApp, hsts: bool) -> None:
        self._app = app
        self._headers = list(SECURITY_HEADERS)
        if hsts:
            self._headers.append(("Strict-Transport-Security", HSTS))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Call the app, adding each header it did not set itself."""

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            present = {name.lower() for name, _ in headers}
            headers.extend(
                (name, value) for name, value in self._headers if name.lower() not in present
            )
            return start_response(status, headers, *exc_info)

        return self._app(environ, start)


class WebServer(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured from the settings, serving the app ``factory`` builds per worker."""

    def __init__(self, settings: Settings, factory: Callable[[], WSGIApp]) -> None:
        self._settings = settings
        self._factory = factory
        super().__init__()

    def load_config(self) -> None:
        """Apply :func:`gunicorn_options`."""
        for key, value in gunicorn_options(self._settings).items():
            self.cfg.set(key, value)
        self.cfg.set("post_worker_init", _scrub_gunicorn_logs)
        self.cfg.set("when_ready", _scrub_gunicorn_logs)

    def load(self) -> WSGIApp:
        """Build the app in this worker, wrapped with the security headers."""
        return SecurityHeaders(self._factory(), hsts=self._settings.tls)


def _scrub_gunicorn_logs(_server_or_worker: Any) -> None:
    # gunicorn's loggers have handlers of their own: mask personal data there too.
    for name in ("gunicorn.error", "gunicorn.access"):
        install_log_scrubbing(logging.getLogger(name))
    install_log_scrubbing()


def serve(settings: Settings, factory: Callable[[], WSGIApp]) -> int:
    """Run gunicorn until SIGTERM or SIGINT (the master stops its workers gracefully).

    Raises:
        ConfigError: plain HTTP on a non-loopback address (:func:`check_bind`), or a
            certificate and key that do not load (``tawasul_cli.tls.check_pair``).
    """
    from tawasul_cli.tls import check_pair

    check_pair(settings)
    check_bind(settings)
    scheme = "https" if settings.tls else "http"
    threads, _ = thread_sizing(settings.api_consoles, settings.api_workers)
    log.info(
        "agent API on %s://%s (gunicorn, %d workers x %d threads), console at /console/",
        scheme,
        _bind_address(settings),
        max(settings.api_workers, 1),
        threads,
    )
    WebServer(settings, factory).run()
    return 0
