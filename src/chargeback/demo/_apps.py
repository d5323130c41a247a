"""The demo's client applications: real Kafka clients (librdkafka), one service account each.

Each app is a thread that logs in to the gateway with SASL as its service account, and
keeps a plain record of what it did (offsets delivered to it by the broker, offsets it consumed),
from which the ledger later computes what it really sent and received.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer

from chargeback.demo._logins import SaslLogin

_log = logging.getLogger("chargeback.demo")
# librdkafka writes its own log lines to stderr unless it is given a logger; route them to ours.
_kafka_log = logging.getLogger("chargeback.demo.kafka")

TopicPartition = tuple[str, int]
_FULL_QUEUE_WAIT_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class ProducerPlan:
    """A producing app: what it writes, how fast, and how it compresses."""

    service_account: str
    topic: str
    messages_per_second: float
    value_bytes: int
    compression: str = "none"
    is_compressible: bool = False
    linger_ms: int = 20
    sasl_mechanism: str = "SCRAM-SHA-512"


@dataclass(frozen=True, slots=True)
class ConsumerPlan:
    """A consuming app: its group, its topics, and how long it rests between polls (lag)."""

    service_account: str
    group_id: str
    topics: tuple[str, ...]
    pause_seconds: float = 0.0
    messages_per_poll: int = 500
    # A small local queue makes a slow consumer fetch only as fast as it processes, so its lag
    # shows in the metered egress instead of being hidden by librdkafka's prefetching.
    queue_kbytes: int | None = None
    sasl_mechanism: str = "SCRAM-SHA-256"


@dataclass(slots=True)
class ProducerRecord:
    """What a producer learnt from its delivery reports: the offsets the broker accepted."""

    # array('q') holds 8 bytes per offset, so a demo left running for hours stays small.
    delivered_offsets: dict[TopicPartition, array[int]] = field(default_factory=dict)
    messages_failed: int = 0
    value_bytes_sent: int = 0

    @property
    def messages_delivered(self) -> int:
        """How many messages the broker acknowledged."""
        return sum(len(offsets) for offsets in self.delivered_offsets.values())


@dataclass(slots=True)
class ConsumerRecord:
    """What a consumer received: per partition, the offset after the last record it consumed."""

    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    messages_consumed: int = 0
    is_drained: bool = False


def _client_config(bootstrap: str, login: SaslLogin) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        # Not the account's name: the service account comes from the SASL login alone.
        "client.id": f"demo-app-{login.username}",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": login.mechanism,
        "sasl.username": login.username,
        "sasl.password": login.password,
        "logger": _kafka_log,
        "error_cb": lambda error: _kafka_log.debug("app=%s kafka_error=%s", login.username, error),
    }


def _position(message: Message) -> tuple[TopicPartition, int]:
    """The topic, partition and offset of a delivered or consumed (never an error) message."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError(f"message without a position: {topic}/{partition}@{offset}")
    return (topic, partition), offset


class _AppThread(threading.Thread):
    """A daemon-less thread with a stop flag: stop() asks, join() waits."""

    def __init__(self, service_account: str) -> None:
        super().__init__(name=f"demo-app-{service_account}")
        self.service_account = service_account
        self.failure: BaseException | None = None
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ask the app to finish its work and close its client."""
        self._stopping.set()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # an app that dies must not hide why
            self.failure = error
            _log.exception("app=%s failed", self.service_account)

    def _run(self) -> None:
        raise NotImplementedError


class ProducerApp(_AppThread):
    """Produces `plan.messages_per_second` messages to `plan.topic` until stopped."""

    def __init__(self, plan: ProducerPlan, bootstrap: str, login: SaslLogin, seed: int) -> None:
        super().__init__(plan.service_account)
        self.plan = plan
        self.record = ProducerRecord()
        self._bootstrap_servers = bootstrap
        self._login = login
        self._random = random.Random(seed)

    def _run(self) -> None:
        config = _client_config(self._bootstrap_servers, self._login)
        config |= {"compression.type": self.plan.compression, "linger.ms": self.plan.linger_ms}
        producer = Producer(config)
        interval_seconds = 1.0 / self.plan.messages_per_second
        next_send = time.monotonic()
        sequence = 0
        while not self._stopping.is_set():
            value = self._value(sequence)
            try:
                producer.produce(
                    self.plan.topic,
                    value=value,
                    key=str(sequence).encode(),
                    on_delivery=self._on_delivery,
                )
            except BufferError:
                # The local queue is full (gateway or broker unreachable): wait, do not die.
                producer.poll(_FULL_QUEUE_WAIT_SECONDS)
                next_send = time.monotonic()
                continue
            self.record.value_bytes_sent += len(value)
            sequence += 1
            next_send += interval_seconds
            producer.poll(max(0.0, next_send - time.monotonic()))
        remaining = producer.flush(30)
        self.record.messages_failed += remaining

    def _value(self, sequence: int) -> bytes:
        if self.plan.is_compressible:
            line = f"seq={sequence} level=INFO actor=svc-{sequence % 7} action=read resource=/a/b "
            return (line * (self.plan.value_bytes // len(line) + 1)).encode()[
                : self.plan.value_bytes
            ]
        body = {"order": sequence, "amount_cents": self._random.randrange(100, 100_000)}
        padding = self._random.randbytes(self.plan.value_bytes // 2).hex()
        return json.dumps(body | {"note": padding}).encode()

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.record.messages_failed += 1
            return
        key, offset = _position(message)
        self.record.delivered_offsets.setdefault(key, array("q")).append(offset)


class ConsumerApp(_AppThread):
    """Consumes `plan.topics` in group `plan.group_id` from the earliest offset until stopped.

    drain() makes it consume at full speed until it has read up to given end offsets.
    """

    def __init__(self, plan: ConsumerPlan, bootstrap: str, login: SaslLogin) -> None:
        super().__init__(plan.service_account)
        self.plan = plan
        self.record = ConsumerRecord()
        self._bootstrap_servers = bootstrap
        self._login = login
        self._drain_to: Mapping[TopicPartition, int] | None = None
        self._drained = threading.Event()

    def drain(self, end_offsets: Mapping[TopicPartition, int], timeout_seconds: float) -> bool:
        """Consume without pausing up to `end_offsets`; return whether that happened in time."""
        self._drain_to = dict(end_offsets)
        return self._drained.wait(timeout_seconds)

    def messages_behind(self, end_offsets: Mapping[TopicPartition, int]) -> int:
        """How many messages of its topics, up to `end_offsets`, it has not consumed yet."""
        return sum(
            max(0, end - self.record.next_offsets.get(key, 0))
            for key, end in end_offsets.items()
            if key[0] in self.plan.topics
        )

    def _run(self) -> None:
        consumer = Consumer(self._config())
        consumer.subscribe(list(self.plan.topics))
        try:
            while not self._stopping.is_set():
                self._consume_once(consumer)
                if self._drain_to is None and self.plan.pause_seconds > 0:
                    self._stopping.wait(self.plan.pause_seconds)
        finally:
            consumer.close()

    def _config(self) -> dict[str, Any]:
        config = _client_config(self._bootstrap_servers, self._login)
        config |= {
            "group.id": self.plan.group_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            # Tansu holds a first JoinGroup for about half the session timeout; keep it short so
            # that consumers start within seconds.
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
        if self.plan.queue_kbytes is not None:
            config |= {
                "queued.max.messages.kbytes": self.plan.queue_kbytes,
                "max.partition.fetch.bytes": self.plan.queue_kbytes * 1024,
            }
        return config

    def _consume_once(self, consumer: Consumer) -> None:
        for message in consumer.consume(self.plan.messages_per_poll, timeout=0.2):
            if message.error() is not None:
                _kafka_log.debug("app=%s consume_error=%s", self.service_account, message.error())
                continue
            key, offset = _position(message)
            self.record.next_offsets[key] = offset + 1
            self.record.messages_consumed += 1
        if self._drain_to is not None and self._has_reached(self._drain_to):
            self.record.is_drained = True
            self._drained.set()

    def _has_reached(self, end_offsets: Mapping[TopicPartition, int]) -> bool:
        return all(
            self.record.next_offsets.get(key, 0) >= end
            for key, end in end_offsets.items()
            if key[0] in self.plan.topics
        )
