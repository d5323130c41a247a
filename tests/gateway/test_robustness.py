"""Bad frames, silent or vanishing peers and a restarting broker close only what they must."""

from __future__ import annotations

import socket
import struct

import pytest

from chargeback.broker import EmbeddedBroker
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, consume_all, create_topic, produce
from tests.gateway.harness import GatewayThread, MemorySink, wait_until
from tests.gateway.raw_kafka import stored_data_bytes

pytestmark = pytest.mark.broker


def _connect(bootstrap: str) -> socket.socket:
    host, port = bootstrap.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=DEADLINE_SECONDS)


def _is_closed_by_peer(connection: socket.socket) -> bool:
    """Wait (up to the deadline) for the peer to close; True when it did."""
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


def _open_connections(gateway: GatewayThread) -> float:
    value = gateway.gateway.metrics.registry.get_sample_value("chargeback_gateway_connections_open")
    return value or 0.0


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(struct.pack(">i", -5), id="negative-size"),
        pytest.param(struct.pack(">i", 0), id="zero-size"),
        pytest.param(struct.pack(">i", 2_000_000_000) + b"x" * 100, id="oversized"),
        pytest.param(struct.pack(">i", 3) + b"abc", id="header-too-short"),
        pytest.param(
            struct.pack(">i", 12) + struct.pack(">hhih", 3, 12, 1, 500) + b"xx",
            id="client-id-runs-past-frame",
        ),
        pytest.param(
            struct.pack(">i", 14) + struct.pack(">hhih", 3, 12, 7, -1) + b"\xff" * 4,
            id="metadata-body-is-garbage",
        ),
    ],
)
def test_a_malformed_frame_closes_only_its_own_connection(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str, garbage: bytes
) -> None:
    # Given
    bystander = _connect(gateway.bootstrap)
    offender = _connect(gateway.bootstrap)
    # When
    offender.sendall(garbage)
    # Then
    assert _is_closed_by_peer(offender)
    offender.close()
    produce(gateway.bootstrap, topic, [b"still working"] * 10, **{"client.id": "bystander"})
    gateway.flush()
    assert sink.bytes_by(Direction.INGRESS) == {
        ("bystander", topic): stored_data_bytes(broker.bootstrap, topic)
    }
    bystander.settimeout(0.05)
    with pytest.raises(TimeoutError):
        bystander.recv(1)  # still open: nothing to read, not closed
    bystander.close()


def test_a_half_sent_frame_then_silence_does_not_hold_up_anyone(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given: a frame that announces 1 MB and delivers 10 bytes
    silent = _connect(gateway.bootstrap)
    silent.sendall(struct.pack(">i", 1_000_000) + b"0123456789")
    # When
    produce(gateway.bootstrap, topic, [b"meanwhile"] * 50, **{"client.id": "busy"})
    gateway.flush()
    # Then
    assert sink.bytes_by(Direction.INGRESS) == {
        ("busy", topic): stored_data_bytes(broker.bootstrap, topic)
    }
    silent.close()
    wait_until(lambda: _open_connections(gateway) == 0, "the silent connection to be released")


def test_abrupt_disconnects_leave_no_connection_behind_and_memory_flat(
    broker: EmbeddedBroker, gateway: GatewayThread, topic: str
) -> None:
    # Given
    import resource

    def disconnect_abruptly_many_times() -> None:
        for _ in range(300):
            connection = _connect(gateway.bootstrap)
            connection.sendall(struct.pack(">i", 5_000_000) + b"x" * 50_000)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()  # RST, mid-frame

    disconnect_abruptly_many_times()  # warm-up: allocator pools and caches reach their size
    wait_until(lambda: _open_connections(gateway) == 0, "warm-up connections to close")
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # When
    disconnect_abruptly_many_times()
    # Then
    wait_until(lambda: _open_connections(gateway) == 0, "all connections to close")
    peak_after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert peak_after_kib - peak_before_kib < 50 * 1024
    assert consume_all(gateway.bootstrap, topic, 0) == []


def test_a_broker_restart_closes_client_connections_and_clients_carry_on(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    create_topic(broker.bootstrap, topic)
    produce(gateway.bootstrap, topic, [b"before restart"] * 20, **{"client.id": "survivor"})
    bytes_before = stored_data_bytes(broker.bootstrap, topic)
    idle = _connect(gateway.bootstrap)
    # When
    broker.restart()
    # Then
    assert _is_closed_by_peer(idle)
    idle.close()
    create_topic(broker.bootstrap, topic)
    produce(gateway.bootstrap, topic, [b"after restart"] * 30, **{"client.id": "survivor"})
    gateway.flush()
    bytes_after = stored_data_bytes(broker.bootstrap, topic)
    assert sink.bytes_by(Direction.INGRESS) == {("survivor", topic): bytes_before + bytes_after}
