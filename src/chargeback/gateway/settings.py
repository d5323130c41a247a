"""The gateway's settings, as the CLI hands them over (already parsed and validated here)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from enum import StrEnum

from chargeback.gateway.brokers import Endpoint
from chargeback.gateway.errors import GatewayError
from chargeback.gateway.identity import IdentitySettings

# Kafka's own limit on request frames (socket.request.max.bytes): no broker takes a larger one.
DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024
# librdkafka's socket.timeout.ms: a client has given up on a request that takes longer to send.
DEFAULT_FRAME_TIMEOUT_SECONDS = 60.0
# With the final flush's 15 s this stays below Kubernetes' default grace period of 30 s.
DEFAULT_DRAIN_TIMEOUT_SECONDS = 10.0


class PrincipalMode(StrEnum):
    """Where a connection's service account comes from."""

    SASL = "sasl"
    CLIENT_ID = "client-id"
    TLS = "tls"


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewaySettings:
    """Everything a gateway needs to run.

    `max_frame_bytes` and `frame_timeout_seconds` bound request frames from clients: their
    size, and the time from a frame's first byte to its last (idle time between frames is
    not limited). Responses from brokers are not limited, as in Kafka's own clients: they are
    as large as the client asked for. `drain_timeout_seconds` bounds how long a connection
    whose client side ended (or a stopping gateway) waits for the broker's answers to the
    requests it was already sent.
    """

    bootstrap_servers: tuple[Endpoint, ...]
    listen: Endpoint
    advertised_host: str | None = None
    cluster: str = "default"
    principal_mode: PrincipalMode = PrincipalMode.SASL
    flush_interval_seconds: float = 10.0
    metrics_port: int | None = None
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    frame_timeout_seconds: float = DEFAULT_FRAME_TIMEOUT_SECONDS
    drain_timeout_seconds: float = DEFAULT_DRAIN_TIMEOUT_SECONDS
    client_tls: ssl.SSLContext | None = None
    upstream_tls: ssl.SSLContext | None = None
    upstream_connect_timeout_seconds: float = 10.0
    identity: IdentitySettings = field(default_factory=IdentitySettings)

    @property
    def advertised(self) -> str:
        """The host clients are told to connect to."""
        return self.advertised_host or self.listen.host


def parse_endpoint(text: str, setting: str) -> Endpoint:
    """Parse `HOST:PORT` for `setting`.

    Raises:
        GatewayError: not HOST:PORT, or the port is not 1..65535.

    >>> parse_endpoint("127.0.0.1:9092", "--listen")
    Endpoint(host='127.0.0.1', port=9092)
    """
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise GatewayError(f"{setting}: {text!r} is not HOST:PORT with a port in 1..65535")
    return Endpoint(host.strip("[]"), int(port_text))


def parse_endpoints(text: str, setting: str) -> tuple[Endpoint, ...]:
    """Parse a comma-separated list of `HOST:PORT`.

    Raises:
        GatewayError: the list is empty or an item is not HOST:PORT.
    """
    items = [item for item in text.split(",") if item.strip()]
    if not items:
        raise GatewayError(f"{setting}: no HOST:PORT given")
    return tuple(parse_endpoint(item, setting) for item in items)
