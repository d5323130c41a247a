"""A consumer group whose membership changes while it consumes through the gateway.

A librdkafka member consumes alone; a second one joins (the group rebalances); then the first
leaves and the second takes over every partition. Records arrive in waves, and each wave is
read completely and committed before the membership changes: a member then never holds
fetched-but-unprocessed batches when its partitions move, so what each member was sent equals
what it processed, and the assertions can be exact:

- every record is consumed exactly once by the group (a lost commit would show as a duplicate,
  a lost partition as a missing record);
- each member's metered egress equals the stored batches holding the records it received
  (from the broker, not from the gateway), and together they are every stored batch, once.

(Were a wave still in flight at a rebalance, a revoked member's prefetched batches would be
sent to it and, rightly, charged to it, and then sent again to the new owner; nothing outside
the connection could then say exactly which bytes each member was sent.)

Tansu is a single broker (node 111, in-memory storage that other processes cannot share), so
the group coordinator and every partition leader sit behind the same gateway broker port; the
members reach them from the bootstrap port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from chargeback.broker import EmbeddedBroker
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic, wait_for
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import bytes_of_batches_holding, stored_data_bytes

pytestmark = pytest.mark.broker

PARTITIONS = 4
# Tansu completes a join only after a wait that grows with the session timeout.
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 500


class Received(NamedTuple):
    """One record as a member received it."""

    partition: int
    offset: int
    value: bytes


class Member:
    """A group member (librdkafka) driven from the test's thread, remembering what it got."""

    def __init__(self, bootstrap: str, topic: str, name: str) -> None:
        self.name, self._topic = name, topic
        self.received: list[Received] = []
        # Next offset per partition read since the last commit.
        self._uncommitted: dict[int, int] = {}
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"group-{topic}",
                "client.id": name,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": SESSION_TIMEOUT_MS,
                "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
            }
        )
        self._consumer.subscribe([topic])

    def poll(self) -> None:
        """Serve heartbeats and rebalances, and take every record that has arrived."""
        for message in self._consumer.consume(1000, timeout=0.05):
            if message.error():
                raise KafkaException(message.error())
            self.received.append(Received(message.partition(), message.offset(), message.value()))
            self._uncommitted[message.partition()] = message.offset() + 1

    def owned(self) -> set[int]:
        return {tp.partition for tp in self._consumer.assignment()}

    def commit(self) -> None:
        """Commit what was read since the last commit, and wait until it is committed.

        Only those partitions: committing an older position of a partition that has moved to
        another member since would rewind that member.
        """
        offsets, self._uncommitted = self._uncommitted, {}
        if offsets:
            positions = [TopicPartition(self._topic, p, o) for p, o in offsets.items()]
            self._consumer.commit(offsets=positions, asynchronous=False)

    def close(self) -> None:
        self._consumer.close()


def _produce_wave(bootstrap: str, topic: str, wave: int) -> list[bytes]:
    """Produce 50 records to each partition, straight to the broker; return their values."""
    values = [f"wave-{wave}-record-{i}".encode() * 20 for i in range(50 * PARTITIONS)]
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i, value in enumerate(values):
        producer.produce(topic, value, partition=i % PARTITIONS)
    assert producer.flush(DEADLINE_SECONDS) == 0
    return values


def _poll_until(members: Iterable[Member], condition: Callable[[], bool], what: str) -> None:
    """Keep every member polling (heartbeats, rebalances, records) until `condition` holds."""
    polled = list(members)

    def poll_all_then_check() -> bool:
        for member in polled:
            member.poll()
        return condition()

    wait_for(poll_all_then_check, what)


def _received_count(members: Iterable[Member]) -> int:
    return sum(len(member.received) for member in members)


def _own_all_partitions_between_them(members: list[Member]) -> bool:
    owned = [member.owned() for member in members]
    every = set().union(*owned)
    is_disjoint = sum(map(len, owned)) == len(every)
    return all(owned) and is_disjoint and every == set(range(PARTITIONS))


def _read_wave(members: list[Member], everyone: list[Member], wave_size: int, what: str) -> None:
    """Poll `members` until the group received `wave_size` more records, then commit them."""
    target = _received_count(everyone) + wave_size
    _poll_until(members, lambda: _received_count(everyone) >= target, what)
    for member in members:
        member.commit()


def test_a_member_joining_then_one_leaving_loses_no_record_and_each_pays_for_what_it_got(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given a librdkafka member alone in the group, which reads and commits a first wave
    create_topic(broker.bootstrap, topic, partitions=PARTITIONS)
    first = Member(gateway.bootstrap, topic, "member-a")
    everyone: list[Member] = [first]
    _poll_until([first], lambda: first.owned() == set(range(PARTITIONS)), "member-a to own all")
    produced = _produce_wave(broker.bootstrap, topic, 1)
    _read_wave([first], everyone, len(produced), "member-a to read wave 1")
    # When a second member joins, and both read a second wave
    second = Member(gateway.bootstrap, topic, "member-b")
    everyone.append(second)
    _poll_until(everyone, lambda: _own_all_partitions_between_them(everyone), "a shared group")
    read_before_wave_2 = {m.name: len(m.received) for m in everyone}
    wave_2 = _produce_wave(broker.bootstrap, topic, 2)
    produced += wave_2
    _read_wave(everyone, everyone, len(wave_2), "the group to read wave 2")
    read_in_wave_2 = {m.name: len(m.received) - read_before_wave_2[m.name] for m in everyone}
    # and then the first member leaves, and the second reads a third wave alone
    first.close()
    _poll_until([second], lambda: second.owned() == set(range(PARTITIONS)), "member-b to own all")
    wave_3 = _produce_wave(broker.bootstrap, topic, 3)
    produced += wave_3
    _read_wave([second], everyone, len(wave_3), "member-b to read wave 3")
    second.close()
    gateway.flush()
    # Then the group read every record exactly once, and both members read in wave 2
    received = [record for member in everyone for record in member.received]
    assert sorted(r.value for r in received) == sorted(produced)
    assert len({(r.partition, r.offset) for r in received}) == len(received)
    assert all(read_in_wave_2.values()), read_in_wave_2
    # and each member paid for the stored batches it was sent, every batch once
    expected = {
        (member.name, topic): bytes_of_batches_holding(
            broker.bootstrap, topic, ((r.partition, r.offset) for r in member.received)
        )
        for member in everyone
    }
    assert sink.bytes_by(Direction.EGRESS) == expected
    assert sum(expected.values()) == stored_data_bytes(broker.bootstrap, topic)
