"""The web server's sizing, bind rule, security headers and certificate checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tawasul.config import Settings, load_settings
from tawasul.errors import ConfigError
from tawasul_cli.asterisk import http_tls_section
from tawasul_cli.tls import check_pair, self_signed_pair, with_demo_pair
from tawasul_cli.web import SecurityHeaders, check_bind, gunicorn_options, thread_sizing


@pytest.mark.parametrize(
    ("consoles", "workers", "threads"),
    [(60, 2, 45), (2, 1, 10), (200, 4, 75), (0, 2, 8)],
)
def test_threads_hold_every_stream_of_a_worker_and_spare_ones(
    consoles: int, workers: int, threads: int
) -> None:
    got, connections = thread_sizing(consoles, workers)
    assert got == threads
    assert got * workers >= consoles + 8 * workers
    assert connections == 2 * got


def test_gunicorn_runs_gthread_workers_from_the_settings(tmp_path: Path) -> None:
    cert, key = self_signed_pair(tmp_path)
    settings = Settings(
        api_port=9443,
        api_workers=3,
        api_consoles=30,
        tls_cert_file=str(cert),
        tls_key_file=str(key),
    )
    options = gunicorn_options(settings)
    assert options["worker_class"] == "gthread" and options["workers"] == 3
    assert options["threads"] == 18 and options["bind"] == ["127.0.0.1:9443"]
    assert options["certfile"] == str(cert) and options["keyfile"] == str(key)
    assert not options["preload_app"]  # AMI and the live hub are built after the fork
    assert "certfile" not in gunicorn_options(Settings())


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.5", "::1", "localhost"])
def test_plain_http_is_allowed_on_loopback(host: str) -> None:
    check_bind(Settings(api_host=host))


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "api.centre.example"])  # noqa: S104
def test_plain_http_elsewhere_is_refused_but_https_is_not(host: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        check_bind(Settings(api_host=host))
    check_bind(with_demo_pair(Settings(api_host=host, var_dir=tmp_path)))


def test_ipv6_hosts_are_bracketed_in_the_bind() -> None:
    assert gunicorn_options(Settings(api_host="::1", api_port=8080))["bind"] == ["[::1]:8080"]


def _call(app: SecurityHeaders) -> dict[str, str]:
    sent: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        sent.update(headers)

    app({}, start_response)
    return sent


def _app(own: list[tuple[str, str]]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", list(own))
        return [b""]

    return app


def test_hsts_only_over_tls_and_the_app_keeps_its_own_headers() -> None:
    own = [("Referrer-Policy", "same-origin")]
    plain = _call(SecurityHeaders(_app(own), hsts=False))
    assert "Strict-Transport-Security" not in plain
    assert plain["X-Content-Type-Options"] == "nosniff" and plain["X-Frame-Options"] == "DENY"
    assert plain["Referrer-Policy"] == "same-origin"
    secure = _call(SecurityHeaders(_app([]), hsts=True))
    assert secure["Strict-Transport-Security"] == "max-age=31536000"
    assert secure["Referrer-Policy"] == "no-referrer"


def test_the_demo_pair_is_made_once_and_its_key_is_private(tmp_path: Path) -> None:
    settings = with_demo_pair(Settings(var_dir=tmp_path))
    assert settings.tls and settings.api_secure_cookies is False
    key = Path(settings.tls_key_file)
    assert key.stat().st_mode & 0o777 == 0o600
    before = key.read_bytes()
    assert with_demo_pair(Settings(var_dir=tmp_path)).tls_key_file == str(key)
    assert key.read_bytes() == before
    check_pair(settings)


def test_a_configured_pair_wins_over_the_demo_pair(tmp_path: Path) -> None:
    cert, key = self_signed_pair(tmp_path / "centre")
    settings = Settings(var_dir=tmp_path, tls_cert_file=str(cert), tls_key_file=str(key))
    assert with_demo_pair(settings) == settings
    assert not (tmp_path / "tls").exists()


def test_pairs_that_cannot_serve_are_refused_by_name(tmp_path: Path) -> None:
    cert, key = self_signed_pair(tmp_path / "one")
    _, other = self_signed_pair(tmp_path / "two")
    with pytest.raises(ConfigError, match="both"):
        check_pair(Settings(tls_cert_file=str(cert)))
    with pytest.raises(ConfigError, match="does not exist"):
        check_pair(Settings(tls_cert_file=str(cert), tls_key_file=str(tmp_path / "none.pem")))
    with pytest.raises(ConfigError, match="not a certificate and its key"):
        check_pair(Settings(tls_cert_file=str(cert), tls_key_file=str(other)))
    check_pair(Settings(tls_cert_file=str(cert), tls_key_file=str(key)))


def test_asterisk_https_uses_the_pair_copied_into_the_chroot(tmp_path: Path) -> None:
    assert http_tls_section(Settings()) == ""
    settings = dataclasses.replace(
        with_demo_pair(Settings(var_dir=tmp_path)), asterisk_tls_port=8443, api_host="10.0.0.5"
    )
    lines = http_tls_section(settings).splitlines()
    assert lines == [
        "tlsenable = yes",
        "tlsbindaddr = 10.0.0.5:8443",
        "tlscertfile = /etc/tawasul/tls/cert.pem",
        "tlsprivatekey = /etc/tawasul/tls/key.pem",
    ]


def test_the_new_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "TAWASUL_VAR_DIR": str(tmp_path),
            "TAWASUL_API_HOST": "10.0.0.5",
            "TAWASUL_API_WORKERS": "4",
            "TAWASUL_API_CONSOLES": "120",
            "TAWASUL_TLS_CERT_FILE": "/etc/tawasul/tls/cert.pem",
            "TAWASUL_TLS_KEY_FILE": "/etc/tawasul/tls/key.pem",
        }
    )
    assert (settings.api_host, settings.api_workers, settings.api_consoles) == ("10.0.0.5", 4, 120)
    assert settings.tls
