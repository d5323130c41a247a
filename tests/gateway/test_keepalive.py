"""Both halves of a proxied connection have TCP keepalive on, as a Kafka broker's accepted
sockets do, so that a peer vanished without a FIN is noticed by the kernel."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from chargeback.broker import EmbeddedBroker
from tests.gateway.harness import GatewayThread
from tests.gateway.raw_kafka import RawKafka

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(shutil.which("ss") is None, reason="needs iproute2's ss"),
]


def _established(peer_port: int) -> dict[int, bool]:
    """This process's established TCP sockets to 127.0.0.1:`peer_port`, by local port:
    whether keepalive is on (ss shows a keepalive timer)."""
    lines = subprocess.run(
        ["ss", "-tnopH", "state", "established", "dst", f"127.0.0.1:{peer_port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    sockets = {}
    for line in lines:
        if f"pid={os.getpid()}," not in line:
            continue
        local_port = int(line.split()[2].rsplit(":", 1)[1])
        sockets[local_port] = "timer:(keepalive" in line
    return sockets


def _accepted(local_port: int, peer_port: int) -> bool:
    """Whether the socket 127.0.0.1:`local_port` <- 127.0.0.1:`peer_port` has keepalive on."""
    line = subprocess.run(
        ["ss", "-tnoH", "state", "established", "src", f"127.0.0.1:{local_port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    matching = [row for row in line.splitlines() if row.split()[3].endswith(f":{peer_port}")]
    assert len(matching) == 1, line
    return "timer:(keepalive" in matching[0]


def test_client_and_broker_sides_have_keepalive(
    broker: EmbeddedBroker, gateway: GatewayThread, topic: str
) -> None:
    # Given: the sockets this process already had open to the broker
    broker_port = int(broker.bootstrap.rsplit(":", 1)[1])
    gateway_port = int(gateway.bootstrap.rsplit(":", 1)[1])
    before = _established(broker_port)
    # When: a client's request makes the gateway connect upstream
    with RawKafka(gateway.bootstrap) as kafka:
        kafka.partitions(topic)
        client_port = kafka.local_port
        upstream = {
            port: on for port, on in _established(broker_port).items() if port not in before
        }
        client_side = _established(gateway_port)
        accepted = _accepted(gateway_port, client_port)
    # Then: the gateway's upstream socket and the socket it accepted have keepalive on, while
    # the test's own client socket (which never asked for it) shows the check can tell
    assert list(upstream.values()) == [True]
    assert accepted is True
    assert client_side[client_port] is False
