"""Consumer groups and transactions through the gateway to a real Tansu broker."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer

from chargeback.broker import EmbeddedBroker
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, consume_all, create_topic, produce
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import RawKafka, stored_data_bytes

pytestmark = pytest.mark.broker


def _group_member(bootstrap: str, topic: str, name: str) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"group-{topic}",
            "client.id": name,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    consumer.subscribe([topic])
    return consumer


def test_a_consumer_group_shares_the_topic_and_each_member_pays_for_what_it_read(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    create_topic(broker.bootstrap, topic, partitions=4)
    members = [_group_member(gateway.bootstrap, topic, f"member-{i}") for i in range(2)]
    _wait_until_the_group_is_balanced(members, partitions=4)
    values = [f"group-{i}".encode() * 25 for i in range(400)]
    produce(broker.bootstrap, topic, values)
    read: dict[str, list[bytes]] = {"member-0": [], "member-1": []}
    # When
    deadline = time.monotonic() + DEADLINE_SECONDS
    while sum(map(len, read.values())) < len(values) and time.monotonic() < deadline:
        # consume() takes what has arrived in one call: one message per poll(), with the idle
        # member's timeout between them, took ~40 s for 400 messages and missed the deadline
        # on a busy machine.
        for name, member in zip(read, members, strict=True):
            for message in member.consume(num_messages=len(values), timeout=0.2):
                if not message.error():
                    read[name].append(message.value())
    for member in members:
        member.close()
    gateway.flush()
    # Then
    egress = sink.bytes_by(Direction.EGRESS)
    assert sorted(read["member-0"] + read["member-1"]) == sorted(values)
    assert sum(egress.values()) == stored_data_bytes(broker.bootstrap, topic)
    assert set(egress) == {("member-0", topic), ("member-1", topic)}
    assert egress[("member-0", topic)] > 0
    assert egress[("member-1", topic)] > 0


def _wait_until_the_group_is_balanced(members: list[Consumer], partitions: int) -> None:
    """Poll (reading nothing: the topic is empty) until each member owns some partitions."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        for member in members:
            assert member.poll(0.1) is None
        owned = [len(member.assignment()) for member in members]
        if all(owned) and sum(owned) == partitions:
            return
    raise AssertionError(f"the group did not balance: {owned}")


def test_transaction_markers_are_not_counted_and_committed_data_is(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    create_topic(broker.bootstrap, topic)
    producer = Producer(
        {
            "bootstrap.servers": gateway.bootstrap,
            "client.id": "txn-producer",
            "transactional.id": f"txn-{topic}",
        }
    )
    producer.init_transactions(DEADLINE_SECONDS)
    values = [f"txn-{i}".encode() * 40 for i in range(100)]
    # When
    for half in (values[:50], values[50:]):
        producer.begin_transaction()
        for value in half:
            producer.produce(topic, value)
        producer.commit_transaction(DEADLINE_SECONDS)
    consumed = consume_all(
        gateway.bootstrap,
        topic,
        len(values),
        **{"client.id": "txn-consumer", "isolation.level": "read_committed"},
    )
    gateway.flush()
    # Then
    with RawKafka(broker.bootstrap) as kafka:
        stored = kafka.stored_batches(topic)
    data_bytes = sum(b.size_bytes for b in stored if not b.is_control)
    assert any(b.is_control for b in stored), "the broker wrote no transaction markers"
    assert consumed == values
    assert sink.bytes_by(Direction.INGRESS) == {("txn-producer", topic): data_bytes}
    assert sink.bytes_by(Direction.EGRESS) == {("txn-consumer", topic): data_bytes}
