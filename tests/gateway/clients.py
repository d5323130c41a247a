"""Small helpers driving real Kafka clients; each waits for a condition, with a safety deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

DEADLINE_SECONDS = 60.0


def create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    """Create `topic` through `bootstrap` and wait until the creation is done."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions)])
    futures[topic].result(timeout=DEADLINE_SECONDS)


def produce(bootstrap: str, topic: str, values: list[bytes], **config: Any) -> None:
    """Produce `values` with confluent-kafka and wait until every one is acknowledged."""
    settings = {"bootstrap.servers": bootstrap, "client.id": "producer", "linger.ms": 5}
    settings.update(config)
    producer = Producer(settings)
    errors: list[Any] = []
    for value in values:
        producer.produce(topic, value, on_delivery=lambda e, _m: errors.append(e) if e else None)
        producer.poll(0)
    remaining = producer.flush(DEADLINE_SECONDS)
    assert remaining == 0, f"{remaining} messages not delivered"
    assert not errors, errors


def consume_all(
    bootstrap: str, topic: str, count: int, partitions: int = 1, **config: Any
) -> list[bytes]:
    """Read `count` records of `topic` from the beginning with confluent-kafka (no group)."""
    settings = {
        "bootstrap.servers": bootstrap,
        "group.id": "unused",
        "client.id": "consumer",
        "enable.auto.commit": False,
    }
    settings.update(config)
    consumer = Consumer(settings)
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values: list[bytes] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            values.append(message.value())
    finally:
        consumer.close()
    return values


def wait_for(condition: Callable[[], object], what: str) -> None:
    """Wait until `condition()` is true; fail naming `what` after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
