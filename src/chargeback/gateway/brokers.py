"""The broker directory: which gateway port stands for which upstream broker. Shared.

Port scheme (deterministic): the listen port is the bootstrap port; the broker first seen gets
listen port + 1, the next + 2, and so on, in order of first sight. Node ids are only keys
(Tansu's is 111), never arithmetic. A broker that leaves keeps its port, so a client holding an
old address reaches the gateway, which connects to the last known address of that node.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A host and port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class BrokerDirectory:
    """Node id -> (upstream endpoint, gateway port). Shared by all connections of one gateway."""

    def __init__(self, listen_port: int, advertised_host: str) -> None:
        self.listen_port = listen_port
        self.advertised_host = advertised_host
        self._port_of_node: dict[int, int] = {}
        self._upstream_of_port: dict[int, Endpoint] = {}
        self._unopened_ports: list[int] = []
        self._lock = threading.Lock()

    def advertise(self, node_id: int, upstream: Endpoint) -> Endpoint:
        """Return the gateway endpoint that stands for broker `node_id` at `upstream`.

        A node seen for the first time gets the next port; a node that moved keeps its port and
        the gateway connects to its new address from now on.
        """
        with self._lock:
            port = self._port_of_node.get(node_id)
            if port is None:
                port = self.listen_port + 1 + len(self._port_of_node)
                self._port_of_node[node_id] = port
                self._unopened_ports.append(port)
            self._upstream_of_port[port] = upstream
        return Endpoint(self.advertised_host, port)

    def upstream_for(self, gateway_port: int) -> Endpoint | None:
        """Return the broker behind `gateway_port`, or None for the bootstrap port."""
        with self._lock:
            return self._upstream_of_port.get(gateway_port)

    def unopened_ports(self) -> list[int]:
        """Return the ports assigned whose listeners are not open yet, oldest first."""
        with self._lock:
            return list(self._unopened_ports)

    def mark_opened(self, port: int) -> None:
        """Note that `port`'s listener is open (or failed to open: it is not retried)."""
        with self._lock:
            self._unopened_ports.remove(port)

    @property
    def has_unopened_ports(self) -> bool:
        """Whether a port was assigned whose listener is not open yet.

        It stays true while a listener is being opened, so that a connection about to tell
        its client of the port knows to wait for it (see `Gateway.open_new_broker_ports`).
        """
        return bool(self._unopened_ports)

    def node_ports(self) -> dict[int, int]:
        """Return node id -> gateway port for every broker seen so far."""
        with self._lock:
            return dict(self._port_of_node)
