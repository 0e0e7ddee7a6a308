"""Certificates: the configured pair checked before a server starts, and the demo's own pair.

A centre puts its certificate (with the chain) and key in ``tls_cert_file`` and ``tls_key_file``;
the console, the API and Asterisk's secure websocket all use that one pair. The demo makes a
self-signed pair for ``localhost`` and ``127.0.0.1`` with the ``cryptography`` package, once,
under ``<var_dir>/tls``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tawasul.config import Settings
from tawasul.errors import ConfigError

SELF_SIGNED_DAYS = 365
DEMO_NAMES = ("localhost",)
DEMO_ADDRESSES = ("127.0.0.1", "::1")


def self_signed_pair(
    directory: Path,
    names: tuple[str, ...] = DEMO_NAMES,
    addresses: tuple[str, ...] = DEMO_ADDRESSES,
) -> tuple[Path, Path]:
    """Make ``cert.pem`` and ``key.pem`` (mode 600) under ``directory`` unless they exist.

    The certificate is self-signed (P-256, a year), for ``names`` and ``addresses``: a browser
    warns about it once; a centre replaces it with its own (``tls_cert_file``).

    Returns:
        The certificate's and the key's paths.
    """
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "tawasul")])
    now = datetime.now(UTC)
    alternatives: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alternatives += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def with_demo_pair(settings: Settings) -> Settings:
    """The settings with the demo's self-signed pair, unless a pair is configured already."""
    if settings.tls:
        return settings
    cert, key = self_signed_pair(settings.var_dir / "tls")
    return dataclasses.replace(settings, tls_cert_file=str(cert), tls_key_file=str(key))


def check_pair(settings: Settings) -> None:
    """Make sure the configured certificate and key load and belong together.

    Raises:
        ConfigError: only one of the two is set, a file is missing or unreadable, or the key
            is not the certificate's; said before a server starts, not at the first visitor.
    """
    if bool(settings.tls_cert_file) != bool(settings.tls_key_file):
        raise ConfigError("set both tls_cert_file and tls_key_file, or neither")
    if not settings.tls:
        return
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except FileNotFoundError as exc:
        raise ConfigError(f"TLS: {exc.filename} does not exist") from exc
    except PermissionError as exc:
        raise ConfigError(f"TLS: cannot read {exc.filename} (permissions)") from exc
    except ssl.SSLError as exc:
        raise ConfigError(
            f"TLS: {settings.tls_cert_file} and {settings.tls_key_file} are not a certificate "
            f"and its key ({exc.reason})"
        ) from exc
