"""What a handler can see: the gateway's shared state and its own connection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chargeback.gateway.brokers import BrokerDirectory
from chargeback.gateway.counts import UsageCounts
from chargeback.gateway.metrics import GatewayMetrics
from chargeback.gateway.settings import GatewaySettings
from chargeback.gateway.topics import TopicNameCache
from chargeback.gateway.wire import RequestHeader
from chargeback.usage import Principal

ANONYMOUS = Principal("ANONYMOUS")


@dataclass(frozen=True, slots=True)
class GatewayState:
    """State shared by every connection of one gateway (each part guards itself)."""

    settings: GatewaySettings
    brokers: BrokerDirectory
    topics: TopicNameCache
    counts: UsageCounts
    metrics: GatewayMetrics


@dataclass(slots=True, kw_only=True)
class ConnectionContext:
    """One client connection, as its handlers see it.

    `principal` is the service account that meters charge. It starts as ANONYMOUS (or the
    client id in client-id mode); identity handlers set it once the broker (or the gateway
    itself) has accepted the client's authentication.
    """

    connection_id: int
    client_address: str
    gateway_port: int
    shared: GatewayState
    principal: Principal = ANONYMOUS
    client_id: str | None = None
    # Client-id mode: each request's own client.id is whom its bytes are charged to, even when
    # a later request on the connection (pipelined before the answer) names another.
    charges_request_client_id: bool = False
    peer_certificate: dict[str, Any] | None = None
    # API keys some handler hooks: the gateway must be able to parse every version it offers.
    hooked_api_keys: frozenset[int] = field(default_factory=frozenset)
    # Identity handlers may install a gate that sees every request header first and raises
    # FrameError to close the connection (managed SASL before login, a refused TLS subject).
    admit: Callable[[RequestHeader], None] | None = None

    def __str__(self) -> str:
        return f"conn={self.connection_id} client={self.client_address} port={self.gateway_port}"
