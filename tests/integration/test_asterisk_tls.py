"""Asterisk's HTTPS server (the secure websocket's) with ``http_tls_section`` and the pair the
harness copies into the chroot: a client that trusts only that certificate gets through."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tawasul_cli.asterisk import CONFIG_DIR, TLS_DIR, Harness, http_tls_section
from tawasul_cli.tls import self_signed_pair
from tests.integration.support import TEST_PORT_BASE

pytestmark = pytest.mark.asterisk

HTTPS_PORT = TEST_PORT_BASE + 89


@pytest.fixture
def https_asterisk(asterisk: Harness, tmp_path: Path) -> Iterator[tuple[Harness, Path]]:
    """The test Asterisk with http.conf's TLS lines and the pair where they point."""
    cert, key = self_signed_pair(tmp_path / "tls")
    settings = dataclasses.replace(
        asterisk.settings,
        tls_cert_file=str(cert),
        tls_key_file=str(key),
        asterisk_tls_port=HTTPS_PORT,
    )
    etc = asterisk.root / CONFIG_DIR.lstrip("/")
    tls = asterisk.root / TLS_DIR.lstrip("/")
    http_conf = etc / "http.conf"
    before = http_conf.read_text() if http_conf.exists() else None
    tls.mkdir(exist_ok=True)
    for source, name in ((cert, "cert.pem"), (key, "key.pem")):
        shutil.copyfile(source, tls / name)
        (tls / name).chmod(0o640)
        shutil.chown(tls / name, "root", asterisk._asterisk_ids()[1])
    shutil.chown(tls, "root", asterisk._asterisk_ids()[1])
    # The lines go into [general], as the harness's http.conf puts them (plain HTTP stays on
    # loopback, off here: only the TLS side is under test).
    http_conf.write_text(
        "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n" + http_tls_section(settings)
    )
    asterisk.cli("module reload http")
    yield dataclasses.replace(asterisk, settings=settings), cert
    if before is None:
        http_conf.unlink()
    else:
        http_conf.write_text(before)
    asterisk.cli("module reload http")


def test_asterisk_serves_https_with_the_configured_certificate(
    https_asterisk: tuple[Harness, Path],
) -> None:
    harness, cert = https_asterisk
    status = ""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status = harness.cli("http show status")
        if "HTTPS Server Enabled" in status:
            break
        time.sleep(0.2)
    assert f"127.0.0.1:{HTTPS_PORT}" in status, status
    context = ssl.create_default_context(cafile=str(cert))
    with socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as secured:
            presented = secured.getpeercert(binary_form=True)
            secured.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert secured.recv(64).startswith(b"HTTP/1.1 ")
    assert presented == ssl.PEM_cert_to_DER_cert(cert.read_text())
