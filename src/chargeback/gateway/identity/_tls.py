"""TLS contexts for the gateway: towards clients (certificate and key, optionally asking for
client certificates) and towards brokers (CA, optional client certificate).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, cast

from chargeback.gateway.identity._errors import TlsSetupError
from chargeback.gateway.identity._principal_mapping import subject_from_peer_certificate


def _check_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise TlsSetupError(f"{what} {path} does not exist or is not a file")


def server_tls_context(
    cert_file: Path, key_file: Path, client_ca_file: Path | None = None
) -> ssl.SSLContext:
    """A context for the gateway's listeners; with `client_ca_file`, clients must present a
    certificate signed by that CA (needed for `--principal tls`).

    Raises:
        TlsSetupError: a file is missing or not a usable certificate or key.
    """
    _check_file(cert_file, "TLS certificate")
    _check_file(key_file, "TLS key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
        if client_ca_file is not None:
            _check_file(client_ca_file, "TLS client CA")
            context.load_verify_locations(cafile=client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
    except ssl.SSLError as error:
        raise TlsSetupError(
            f"cannot load TLS certificate {cert_file} / key {key_file}: {error}"
        ) from error
    return context


def client_tls_context(
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    check_hostname: bool = True,
) -> ssl.SSLContext:
    """A context for the gateway's connections to brokers: verifies them against `ca_file`
    (the system's CAs if None) and presents a client certificate if one is given.

    Raises:
        TlsSetupError: a file is missing or unusable, or a certificate comes without its key.
    """
    if (cert_file is None) != (key_file is None):
        raise TlsSetupError("a TLS client certificate needs its key, and a key its certificate")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = check_hostname
    try:
        if ca_file is not None:
            _check_file(ca_file, "TLS CA")
            context.load_verify_locations(cafile=ca_file)
        if cert_file is not None and key_file is not None:
            _check_file(cert_file, "TLS client certificate")
            _check_file(key_file, "TLS client key")
            context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as error:
        raise TlsSetupError(f"cannot load TLS files for the broker connections: {error}") from error
    return context


def peer_subject(ssl_object: ssl.SSLObject | ssl.SSLSocket | Any) -> str | None:
    """The RFC 2253 subject of the verified peer certificate, or None if there is none."""
    certificate = ssl_object.getpeercert() if ssl_object is not None else None
    subject = certificate.get("subject") if certificate else None
    if not isinstance(subject, tuple) or not subject:
        return None
    return subject_from_peer_certificate(cast("tuple[tuple[tuple[str, str], ...], ...]", subject))
