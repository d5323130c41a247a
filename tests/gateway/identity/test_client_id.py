"""`--principal client-id` with real clients: each client's client.id is its service account."""

from __future__ import annotations

import time
import warnings

import pytest

with warnings.catch_warnings():
    # kafka-python 3.0.12 loads its schemas with a deprecated importlib.resources call.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaConsumer, TopicPartition

from kio.schema.api_versions.v0.request import ApiVersionsRequest

from chargeback.broker import EmbeddedBroker
from chargeback.gateway import PrincipalMode
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic, produce
from tests.gateway.harness import MemorySink
from tests.gateway.identity.conftest import GatewayFactory
from tests.gateway.raw_kafka import (
    RawKafka,
    fetch_request,
    produce_frame,
    record_batch,
    request_payload,
    stored_data_bytes,
)

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


def test_each_pipelined_request_is_charged_to_its_own_client_id(
    broker: EmbeddedBroker, gateways: GatewayFactory, topic: str
) -> None:
    # Given a client-id gateway and one connection
    sink = MemorySink()
    gateway = gateways.start(broker.bootstrap, sink, principal_mode=PrincipalMode.CLIENT_ID)
    create_topic(broker.bootstrap, topic)
    batch = record_batch([b"p" * 1000])
    with RawKafka(gateway.bootstrap) as client:
        # When three requests go out before any answer: a Produce named "payer", a Fetch named
        # "reader" (Kafka answers a connection's requests in order, so it sees the batch), and an
        # ApiVersions named "latecomer", whose name is the connection's latest when the first
        # two are answered
        client.send_raw(produce_frame(1, [(topic, 0, batch)], acks=1, client_id="payer"))
        client.send_raw(request_payload(fetch_request(topic, 0, 0), 2, client_id="reader"))
        client.send_raw(request_payload(ApiVersionsRequest(), 3, client_id="latecomer"))
        answers = [client.receive_raw() for _ in range(3)]
    gateway.flush()
    # Then each request's bytes go to the client id it carried, none to the latest one
    assert [int.from_bytes(answer[:4], "big") for answer in answers] == [1, 2, 3]
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert stored == len(batch)
    assert sink.bytes_by(Direction.INGRESS) == {("payer", topic): stored}
    assert sink.bytes_by(Direction.EGRESS) == {("reader", topic): stored}
