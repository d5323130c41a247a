"""Broker addresses: rewrite every broker host/port in responses to the gateway's own.

Clients must never learn a broker's real address, or they would bypass the gateway. Each
broker (by node id) gets a gateway port from the shared `BrokerDirectory`; brokers that join
later get the next port when a response first names them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kio.static.primitive import i32

from chargeback.gateway.brokers import Endpoint
from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.frames import ResponseFrame

# Tagged field `node_endpoints` (tag 0) at the top level of these responses carries addresses.
_NODE_ENDPOINTS = "node_endpoints"
# DescribeCluster v1+ `endpoint_type`: 1 lists brokers, 2 controllers (KIP-919).
_BROKER_ENDPOINTS = 1


class BrokerAddresses:
    """Rewrites Metadata, FindCoordinator, DescribeCluster and node endpoints in responses."""

    def __init__(self, connection: ConnectionContext) -> None:
        self._brokers = connection.shared.brokers

    def on_metadata_response(self, frame: ResponseFrame) -> None:
        """Metadata: every broker in `brokers`."""
        message = frame.message()
        brokers = tuple(self._rewrite(b, b.node_id) for b in message.brokers)
        frame.replace(dataclasses.replace(message, brokers=brokers))

    def on_describe_cluster_response(self, frame: ResponseFrame) -> None:
        """DescribeCluster: every broker in `brokers`.

        A list of controllers (endpoint type 2, KIP-919) is left alone, as DescribeQuorum is:
        a controller's node id may be a broker's too, and must not take over its gateway port.
        """
        message = frame.message()
        if getattr(message, "endpoint_type", _BROKER_ENDPOINTS) != _BROKER_ENDPOINTS:
            return
        brokers = tuple(self._rewrite(b, b.broker_id) for b in message.brokers)
        frame.replace(dataclasses.replace(message, brokers=brokers))

    def on_find_coordinator_response(self, frame: ResponseFrame) -> None:
        """FindCoordinator: one coordinator (v0-3) or a list of them (v4+)."""
        message = frame.message()
        if hasattr(message, "coordinators"):
            coordinators = tuple(self._rewrite(c, c.node_id) for c in message.coordinators)
            frame.replace(dataclasses.replace(message, coordinators=coordinators))
        else:
            frame.replace(self._rewrite(message, message.node_id))

    def on_produce_response(self, frame: ResponseFrame) -> None:
        """Produce v10+: `node_endpoints` of new partition leaders."""
        self._rewrite_node_endpoints(frame, frame.message())

    def on_fetch_response(self, frame: ResponseFrame) -> None:
        """Fetch v16+: `node_endpoints`; skimmed first so that record data is not copied."""
        if frame.skim().get(_NODE_ENDPOINTS):
            self._rewrite_node_endpoints(frame, frame.message())

    def on_share_fetch_response(self, frame: ResponseFrame) -> None:
        """ShareFetch: `node_endpoints`, like Fetch."""
        if frame.skim().get(_NODE_ENDPOINTS):
            self._rewrite_node_endpoints(frame, frame.message())

    def on_share_acknowledge_response(self, frame: ResponseFrame) -> None:
        """ShareAcknowledge: `node_endpoints`."""
        self._rewrite_node_endpoints(frame, frame.message())

    def _rewrite_node_endpoints(self, frame: ResponseFrame, message: Any) -> None:
        endpoints = getattr(message, _NODE_ENDPOINTS, ())
        if endpoints:
            rewritten = tuple(self._rewrite(e, e.node_id) for e in endpoints)
            frame.replace(dataclasses.replace(message, node_endpoints=rewritten))

    def _rewrite(self, entry: Any, node_id: int) -> Any:
        """Return `entry` (with `host` and `port`) pointing at the gateway port for `node_id`."""
        if node_id < 0 or entry.port < 0 or not entry.host:
            return entry  # "no such node" (e.g. coordinator not available): nothing to rewrite
        gateway = self._brokers.advertise(node_id, Endpoint(entry.host, entry.port))
        return dataclasses.replace(entry, host=gateway.host, port=i32(gateway.port))
