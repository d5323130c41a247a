"""The broker side closes upstream connections while clients are still active.

A relay between the gateway and Tansu closes connections as a broker does: after an idle
timeout (Kafka's `connections.max.idle.ms`), or all at once while a producer is sending. As
docs/gateway.md says, the gateway then closes the matching client connection (the client
reconnects, as it would to the broker), requests in flight get no answer and cost nothing, and
usage counted before is kept. Expected ingress comes from the producer's delivery reports and
the batches the broker stored at those offsets: a batch stored but never acknowledged (its
answer was lost with the connection) costs nothing, since the client sends it again.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Producer

from chargeback.broker import EmbeddedBroker, free_port
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic, wait_for
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import RawKafka, bytes_of_batches_holding
from tests.gateway.relay import BrokerSideRelay

pytestmark = pytest.mark.broker

# Longer than librdkafka's 1 s metadata retry tick: a shorter timeout closes each fresh
# bootstrap connection before its first Metadata request, again and again (Kafka's own
# default is 10 minutes).
IDLE_TIMEOUT_SECONDS = 1.5


@contextlib.contextmanager
def _gateway_behind_relay(
    sink: MemorySink, **relay_settings: Any
) -> Iterator[tuple[EmbeddedBroker, BrokerSideRelay, GatewayThread]]:
    """Tansu, a relay in front of it, a gateway in front of the relay.

    Tansu advertises the relay's port, so all of the gateway's broker traffic passes the relay.
    """
    broker_port = free_port()
    relay = BrokerSideRelay(broker_port, **relay_settings).start()
    try:
        with EmbeddedBroker(broker_port, advertised_port=relay.port) as broker:
            gateway = GatewayThread(f"127.0.0.1:{relay.port}", sink).start()
            try:
                yield broker, relay, gateway
            finally:
                gateway.stop()
    finally:
        relay.stop()


@pytest.fixture
def idle_closing(
    sink: MemorySink,
) -> Iterator[tuple[EmbeddedBroker, BrokerSideRelay, GatewayThread]]:
    """Broker, relay closing connections idle for IDLE_TIMEOUT_SECONDS, gateway."""
    with _gateway_behind_relay(sink, idle_timeout_seconds=IDLE_TIMEOUT_SECONDS) as running:
        yield running


def _api_versions_request(correlation_id: int) -> bytes:
    """ApiVersions v0: header v1 (key, version, correlation id, client id), empty body."""
    return struct.pack(">hhih", 18, 0, correlation_id, 6) + b"client"


def _open_connections(gateway: GatewayThread) -> float:
    return gateway.metric_value("chargeback_gateway_connections_open")


def test_an_upstream_idle_timeout_closes_the_client_connection_the_client_still_uses(
    idle_closing: tuple[EmbeddedBroker, BrokerSideRelay, GatewayThread],
) -> None:
    # Given a client that was answered once, then paused longer than the broker's idle timeout
    _, relay, gateway = idle_closing
    with RawKafka(gateway.bootstrap) as client:
        client.send_raw(_api_versions_request(1))
        assert struct.unpack_from(">i", client.receive_raw())[0] == 1
        wait_for(lambda: relay.closed_by_relay == 1, "the broker side to close the idle connection")
        # When the client, still active, sends its next request on the same connection
        with contextlib.suppress(ConnectionError):
            client.send_raw(_api_versions_request(2))
        # Then the gateway has closed it (the client reconnects), instead of leaving it unanswered
        with pytest.raises(ConnectionError):
            client.receive_raw()
    wait_for(lambda: _open_connections(gateway) == 0, "the gateway to release the connection")


class _DeliveryLog:
    """Delivery reports of one producer: (partition, offset) of each record, and any errors."""

    def __init__(self) -> None:
        self.offsets: list[tuple[int, int]] = []
        self.values: list[bytes] = []
        self.errors: list[Any] = []

    def __call__(self, error: Any, message: Any) -> None:
        if error is not None:
            self.errors.append(error)
        else:
            self.offsets.append((message.partition(), message.offset()))
            self.values.append(message.value())


def test_a_producer_carries_on_across_upstream_idle_timeouts_and_pays_for_what_was_accepted(
    idle_closing: tuple[EmbeddedBroker, BrokerSideRelay, GatewayThread],
    sink: MemorySink,
    topic: str,
) -> None:
    # Given
    broker, relay, gateway = idle_closing
    create_topic(broker.bootstrap, topic, partitions=2)
    producer = Producer({"bootstrap.servers": gateway.bootstrap, "client.id": "bursty"})
    deliveries = _DeliveryLog()
    bursts = [[f"burst-{b}-{i}".encode() * 20 for i in range(200)] for b in range(3)]
    # When bursts are separated by pauses in which the broker side closes every connection
    # the previous burst used (librdkafka reconnects its bootstrap connection meanwhile)
    for burst in bursts:
        for value in burst:
            producer.produce(topic, value, on_delivery=deliveries)
        assert producer.flush(DEADLINE_SECONDS) == 0
        used = relay.open_connections()
        wait_for(lambda: not used & relay.open_connections(), "upstream idle timeouts")  # noqa: B023
    gateway.flush()
    # Then every record was delivered once, without errors
    assert deliveries.errors == []
    assert sorted(deliveries.values) == sorted(v for burst in bursts for v in burst)
    # and every accepted batch was counted, across the closed connections
    expected = bytes_of_batches_holding(broker.bootstrap, topic, deliveries.offsets)
    assert sink.bytes_by(Direction.INGRESS) == {("bursty", topic): expected}


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_broker_dropping_connections_mid_stream_loses_no_record_and_counts_accepted_batches(
    sink: MemorySink, topic: str, reset: bool
) -> None:
    # Given a broker side that drops every connection twice while a producer sends 1 MB
    # in many small requests: after 200 KB and 500 KB, wherever in a request that falls
    values = [f"steady-{i:04}".encode() * 15 for i in range(6000)]
    cuts = (200_000, 500_000)
    with _gateway_behind_relay(sink, cut_at_bytes_to_broker=cuts, reset=reset) as running:
        broker, relay, gateway = running
        create_topic(broker.bootstrap, topic, partitions=2)
        settings = {"client.id": "steady", "linger.ms": 1, "batch.num.messages": 10}
        producer = Producer({"bootstrap.servers": gateway.bootstrap, **settings})
        deliveries = _DeliveryLog()
        # When
        for value in values:
            producer.produce(topic, value, on_delivery=deliveries)
        assert producer.flush(DEADLINE_SECONDS) == 0
        gateway.flush()
        expected = bytes_of_batches_holding(broker.bootstrap, topic, deliveries.offsets)
    # Then both cuts happened, and no record was lost or failed
    assert relay.cuts_done == len(cuts)
    assert deliveries.errors == []
    assert sorted(deliveries.values) == sorted(values)
    # and each accepted batch counted once; a batch whose answer was lost costs nothing
    assert sink.bytes_by(Direction.INGRESS) == {("steady", topic): expected}
