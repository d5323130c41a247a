"""Bad frames, silent or vanishing peers and a restarting broker close only what they must."""

from __future__ import annotations

import socket
import struct

import pytest

from chargeback.broker import EmbeddedBroker
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, consume_all, create_topic, produce
from tests.gateway.harness import GatewayThread, MemorySink, wait_until
from tests.gateway.raw_kafka import RawKafka, stored_data_bytes

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
        pytest.param(
            # Kafka's socket.request.max.bytes (100 MiB) is the default limit; one byte more
            struct.pack(">i", 100 * 1024 * 1024 + 1) + b"x" * 100,
            id="above-kafkas-request-limit",
        ),
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


def _produce_head(size: int) -> bytes:
    """The first 100 KB of a Produce v9 frame announcing `size` bytes (streamed: over 256 KiB)."""
    header = struct.pack(">hhih", 0, 9, 1, 4) + b"slow" + b"\x00"
    body_start = b"\x00" + struct.pack(">hi", 1, 30_000)
    head = header + body_start
    return struct.pack(">i", size) + head + b"r" * (100_000 - len(head))


@pytest.mark.parametrize(
    "half_frame",
    [
        pytest.param(b"\x00\x10", id="half-a-size-prefix"),
        pytest.param(struct.pack(">i", 1_000_000) + b"0123456789", id="half-a-frame"),
        pytest.param(_produce_head(1_000_000), id="half-a-streamed-produce"),
    ],
)
def test_a_frame_not_finished_within_the_frame_timeout_closes_its_connection(
    broker: EmbeddedBroker, sink: MemorySink, topic: str, half_frame: bytes
) -> None:
    # Given: a gateway with a short frame timeout, an idle client, and one that sends part of
    # a frame and then nothing
    create_topic(broker.bootstrap, topic)
    gateway = GatewayThread(broker.bootstrap, sink, frame_timeout_seconds=0.5).start()
    try:
        idle = RawKafka(gateway.bootstrap)
        silent = _connect(gateway.bootstrap)
        # When
        silent.sendall(half_frame)
        # Then: the silent client is cut off and counted; the idle one, idle for longer than
        # the frame timeout, is still served
        assert _is_closed_by_peer(silent)
        silent.close()
        assert _errors(gateway) == {"frame_timeout": 1.0}
        assert idle.partitions(topic) == [0]
        idle.close()
    finally:
        gateway.stop()


def _errors(gateway: GatewayThread) -> dict[str, float]:
    """The errors counter by kind (kinds never counted are left out)."""
    families = gateway.gateway.metrics.registry.collect()
    return {
        sample.labels["kind"]: sample.value
        for family in families
        if family.name == "chargeback_gateway_errors"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


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
