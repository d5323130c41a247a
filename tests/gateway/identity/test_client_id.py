"""`--principal client-id` with real clients: each client's client.id is its service account."""

from __future__ import annotations

import time
import warnings

import pytest

with warnings.catch_warnings():
    # kafka-python 3.0.12 loads its schemas with a deprecated importlib.resources call.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaConsumer, TopicPartition

from chargeback.broker import EmbeddedBroker
from chargeback.gateway import PrincipalMode
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic, produce
from tests.gateway.harness import MemorySink
from tests.gateway.identity.conftest import GatewayFactory
from tests.gateway.raw_kafka import stored_data_bytes

pytestmark = pytest.mark.broker


def _read_with_empty_client_id(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="", group_id=None)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    values: list[bytes] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while len(values) < count:
            assert time.monotonic() < deadline, f"read only {len(values)} of {count} records"
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(record.value for record in records)
    finally:
        consumer.close()
    return values


def test_each_client_id_is_charged_and_an_empty_one_is_anonymous(
    broker: EmbeddedBroker, gateways: GatewayFactory, topic: str
) -> None:
    # Given a client-id gateway, and a topic with one batch from a producer named "etl"
    sink = MemorySink()
    gateway = gateways.start(broker.bootstrap, sink, principal_mode=PrincipalMode.CLIENT_ID)
    create_topic(broker.bootstrap, topic)
    values = [b"c" * 400 for _ in range(40)]
    produce(gateway.bootstrap, topic, values, **{"client.id": "etl", "linger.ms": 1000})
    # When a reader with an empty client.id (kafka-python sends it as given) reads everything
    consumed = _read_with_empty_client_id(gateway.bootstrap, topic, len(values))
    gateway.flush()
    # Then the producer's client id pays the ingress, ANONYMOUS the egress
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert consumed == values
    assert sink.bytes_by(Direction.INGRESS) == {("etl", topic): stored}
    assert sink.bytes_by(Direction.EGRESS) == {("ANONYMOUS", topic): stored}
