"""confluent-kafka (librdkafka) through the gateway to a real Tansu broker."""

from __future__ import annotations

import pytest

from chargeback.broker import EmbeddedBroker
from chargeback.usage import Direction
from tests.gateway.clients import consume_all, create_topic, produce
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import stored_data_bytes

pytestmark = pytest.mark.broker


def test_produced_bytes_are_metered_as_the_batches_the_broker_stored(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    values = [bytes([i % 251]) * (100 + i) for i in range(300)]
    # When
    produce(gateway.bootstrap, topic, values, **{"client.id": "alice"})
    gateway.flush()
    # Then
    expected = stored_data_bytes(broker.bootstrap, topic)
    assert expected > sum(len(v) for v in values)
    assert sink.bytes_by(Direction.INGRESS) == {("alice", topic): expected}


def test_one_full_read_meters_the_stored_batches_as_egress(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    create_topic(broker.bootstrap, topic)
    values = [f"record-{i}".encode() * 20 for i in range(500)]
    produce(broker.bootstrap, topic, values)
    # When
    consumed = consume_all(gateway.bootstrap, topic, len(values), **{"client.id": "bob"})
    gateway.flush()
    # Then
    assert consumed == values
    assert sink.bytes_by(Direction.EGRESS) == {
        ("bob", topic): stored_data_bytes(broker.bootstrap, topic)
    }
    assert sink.bytes_by(Direction.INGRESS) == {}


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_count_at_their_compressed_size(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str, codec: str
) -> None:
    # Given: compressible values, so that librdkafka really compresses
    create_topic(broker.bootstrap, topic)
    values = [b"chargeback " * 100 for _ in range(200)]
    produce(gateway.bootstrap, topic, values, **{"client.id": "carol", "compression.type": codec})
    # When
    consumed = consume_all(gateway.bootstrap, topic, len(values), **{"client.id": "dave"})
    gateway.flush()
    # Then
    expected = stored_data_bytes(broker.bootstrap, topic)
    assert consumed == values
    assert expected < sum(len(v) for v in values) // 5
    assert sink.bytes_by(Direction.INGRESS) == {("carol", topic): expected}
    assert sink.bytes_by(Direction.EGRESS) == {("dave", topic): expected}


def test_records_of_ten_megabytes_pass_and_are_metered(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    create_topic(broker.bootstrap, topic)
    values = [bytes([i]) * (10 * 1000 * 1000) for i in range(1, 4)]
    big = {"message.max.bytes": 20_000_000}
    # When
    produce(gateway.bootstrap, topic, values, **{"client.id": "erin"}, **big)
    consumed = consume_all(
        gateway.bootstrap,
        topic,
        len(values),
        **{
            "client.id": "frank",
            "fetch.max.bytes": 50_000_000,
            "receive.message.max.bytes": 60_000_000,
        },
    )
    gateway.flush()
    # Then
    expected = stored_data_bytes(broker.bootstrap, topic)
    assert consumed == values
    assert sink.bytes_by(Direction.INGRESS) == {("erin", topic): expected}
    assert sink.bytes_by(Direction.EGRESS) == {("frank", topic): expected}


def test_acks_zero_is_counted_as_sent_and_nothing_waits_for_an_answer(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    create_topic(broker.bootstrap, topic)
    values = [b"fire-and-forget" * 10 for _ in range(100)]
    # When
    produce(gateway.bootstrap, topic, values, **{"client.id": "gina", "acks": 0})
    consume_all(broker.bootstrap, topic, len(values))
    gateway.flush()
    # Then
    assert sink.bytes_by(Direction.INGRESS) == {
        ("gina", topic): stored_data_bytes(broker.bootstrap, topic)
    }


def test_metadata_names_only_gateway_addresses(
    broker: EmbeddedBroker, gateway: GatewayThread, topic: str
) -> None:
    # Given
    from confluent_kafka.admin import AdminClient

    create_topic(gateway.bootstrap, topic, partitions=3)
    admin = AdminClient({"bootstrap.servers": gateway.bootstrap})
    # When
    metadata = admin.list_topics(timeout=30)
    # Then
    gateway_port = int(gateway.bootstrap.rsplit(":", 1)[1])
    assert {(b.host, b.port) for b in metadata.brokers.values()} == {
        ("127.0.0.1", gateway_port + 1)
    }
    assert {b.id for b in metadata.brokers.values()} == {111}
    assert len(metadata.topics[topic].partitions) == 3
