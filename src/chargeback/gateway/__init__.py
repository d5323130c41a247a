"""Gateway: the metering Kafka proxy. Listener, connection pairs, framing, handler chain,
identity, meters, flush to a UsageSink. Imports usage, errors and kio only; only cli and demo
import it.

Modules: `server` (listeners, lifecycle), `connection` (the per-connection loop, the only place
that awaits), `streams` (its byte streams: cut-through, a client that is gone, closing),
`in_flight` and `correlation` (requests awaiting answers, the ids they hold),
`deadline` (how long a request frame may take), `chain` (which handlers, in which order),
`handlers/` (one concern each), `frames` (what hooks see), `wire` (byte-level framing and
batch headers), `skim` (reading kio messages without copying record sets), `brokers` /
`topics` / `counts` (shared state), `flush` (the flush thread), `metrics`, `settings`,
`errors`.
"""

from chargeback.gateway.brokers import Endpoint
from chargeback.gateway.context import ANONYMOUS, ConnectionContext
from chargeback.gateway.errors import FrameError, FrameTimeoutError, GatewayError, UpstreamError
from chargeback.gateway.server import Gateway, run_gateway
from chargeback.gateway.settings import (
    DEFAULT_DRAIN_TIMEOUT_SECONDS,
    DEFAULT_FRAME_TIMEOUT_SECONDS,
    DEFAULT_MAX_FRAME_BYTES,
    GatewaySettings,
    PrincipalMode,
    parse_endpoint,
    parse_endpoints,
)

__all__ = [
    "ANONYMOUS",
    "DEFAULT_DRAIN_TIMEOUT_SECONDS",
    "DEFAULT_FRAME_TIMEOUT_SECONDS",
    "DEFAULT_MAX_FRAME_BYTES",
    "ConnectionContext",
    "Endpoint",
    "FrameError",
    "FrameTimeoutError",
    "Gateway",
    "GatewayError",
    "GatewaySettings",
    "PrincipalMode",
    "UpstreamError",
    "parse_endpoint",
    "parse_endpoints",
    "run_gateway",
]
