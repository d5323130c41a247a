"""Bad frames, silent or vanishing peers and a restarting broker close only what they must."""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chargeback.broker import EmbeddedBroker, free_port
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic, produce, wait_for
from tests.gateway.harness import (
    GatewayThread,
    MemorySink,
    chargeback_command,
    free_port_block,
    wait_until_serving,
)
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
    wait_for(lambda: _open_connections(gateway) == 0, "the silent connection to be released")


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


class _GatewayProcess:
    """`chargeback gateway` in a process of its own, so its memory is its alone."""

    def __init__(self, upstream: str, work_dir: Path) -> None:
        self.port, self.metrics_port = free_port_block(), free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        command = [chargeback_command(), "--db", f"sqlite:///{work_dir / 'usage.db'}", "gateway"]
        command += ["--bootstrap-server", upstream, "--listen", self.bootstrap]
        command += ["--metrics-port", str(self.metrics_port), "--principal", "client-id"]
        command += ["--frame-timeout", "0.5", "--flush-interval", "3600"]
        # A file, not a pipe: a pipe nobody reads would stop the gateway once it is full.
        self._log = (work_dir / "gateway.log").open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=self._log)
        wait_until_serving(self.metrics_port, self.process)

    def rss_bytes(self) -> int:
        """The process's resident memory now (not its peak)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        (line,) = [line for line in status.splitlines() if line.startswith("VmRSS:")]
        return int(line.split()[1]) * 1024

    def open_connections(self) -> float:
        metrics = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        return _sample(metrics, "chargeback_gateway_connections_open")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=DEADLINE_SECONDS)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._log.close()


def _sample(metrics_text: str, name: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} is not among the metrics")


@pytest.fixture
def gateway_process(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[_GatewayProcess]:
    """A gateway process (frame timeout 0.5 s) in front of `broker`."""
    running = _GatewayProcess(broker.bootstrap, tmp_path)
    yield running
    running.stop()


CONNECTIONS_PER_KIND = 20
_PAYLOAD = 300_000
# Bad ways to use a connection: what the client sends, and whether it then waits in silence for
# the gateway to close (True) or resets the connection (False).
_BAD_SENDS = [
    # malformed, with more bytes behind it
    (
        struct.pack(">i", 14) + struct.pack(">hhih", 3, 12, 7, -1) + b"\xff" * 4 + b"m" * _PAYLOAD,
        False,
    ),
    (struct.pack(">i", 2_000_000_000) + b"o" * _PAYLOAD, False),  # oversized
    (struct.pack(">i", 5_000_000) + b"h" * _PAYLOAD, True),  # half a frame, then silence
    (struct.pack(">i", 5_000_000) + b"a" * _PAYLOAD, False),  # half a frame, then a reset
    (_produce_head(5_000_000) + b"p" * _PAYLOAD, False),  # half a streamed frame, then a reset
]


def _abort(connection: socket.socket) -> None:
    """Close with a reset (RST), as a crashing client does."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def _bad_connections_round(gateway: _GatewayProcess) -> None:
    """Use CONNECTIONS_PER_KIND connections in each bad way at once; wait until all closed."""
    silent: list[socket.socket] = []
    aborted: list[socket.socket] = []
    for data, then_silence in _BAD_SENDS:
        for _ in range(CONNECTIONS_PER_KIND):
            connection = _connect(gateway.bootstrap)
            connection.sendall(data)
            (silent if then_silence else aborted).append(connection)
    for connection in aborted:
        _abort(connection)
    for connection in silent:
        assert _is_closed_by_peer(connection)  # by the frame timeout
        connection.close()
    wait_for(lambda: gateway.open_connections() == 0, "every bad connection to be closed")


def test_memory_stays_flat_through_rounds_of_bad_and_abrupt_connections(
    gateway_process: _GatewayProcess,
) -> None:
    # Given: a warmed-up gateway (allocator pools and caches at their working size)
    for _ in range(2):
        _bad_connections_round(gateway_process)
    rss_before = gateway_process.rss_bytes()
    # When
    rounds = 5
    for _ in range(rounds):
        _bad_connections_round(gateway_process)
    # Then: growth is far below the bytes received, which buffers kept after their connection
    # closed would mostly hold on to
    received = rounds * CONNECTIONS_PER_KIND * sum(len(data) for data, _ in _BAD_SENDS)
    growth = gateway_process.rss_bytes() - rss_before
    assert growth < received // 10, f"RSS grew by {growth} bytes for {received} bytes received"


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
