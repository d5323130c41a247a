"""Counting per window, and the flush thread's exactly-once bookkeeping."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from chargeback.gateway.counts import UsageCounts
from chargeback.gateway.flush import Flusher
from chargeback.gateway.metrics import GatewayMetrics
from chargeback.gateway.topics import TopicNameCache
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord

ALICE = Principal("alice")
ORDERS = TopicName("orders")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FlakySink:
    """Fails `failures` times, then stores; remembers every batch id it was offered."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.offered: list[str] = []
        self.stored: dict[str, list[UsageRecord]] = {}

    def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> None:
        self.offered.append(batch_id)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store unreachable")
        self.stored.setdefault(batch_id, list(records))


def _bytes(records: list[UsageRecord]) -> dict[tuple[str, datetime], int]:
    return {(r.topic, r.window_start_utc): r.bytes for r in records}


def test_counts_are_summed_per_fifteen_minute_window() -> None:
    # Given: 10:14:59 and 10:15:00 fall in different windows
    clock = Clock(datetime(2026, 12, 3, 10, 14, 59, tzinfo=UTC).timestamp())
    counts = UsageCounts(ClusterName("c"), TopicNameCache(), clock)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 100)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 20)
    clock.now += 1
    counts.add(ALICE, ORDERS, Direction.INGRESS, 7)
    # When
    records = counts.drain()
    # Then
    assert _bytes(records) == {
        ("orders", datetime(2026, 12, 3, 10, 0, tzinfo=UTC)): 120,
        ("orders", datetime(2026, 12, 3, 10, 15, tzinfo=UTC)): 7,
    }
    assert counts.drain() == []


def test_an_unknown_topic_id_waits_for_its_name_and_is_then_merged() -> None:
    # Given
    topics = TopicNameCache()
    clock = Clock(datetime(2026, 12, 3, 10, 0, tzinfo=UTC).timestamp())
    counts = UsageCounts(ClusterName("c"), topics, clock)
    topic_id = uuid.uuid4()
    counts.add(ALICE, topic_id, Direction.EGRESS, 50)
    counts.add(ALICE, ORDERS, Direction.EGRESS, 5)
    first = counts.drain()
    # When
    topics.learn(topic_id, "orders")
    second = counts.drain()
    # Then
    assert [(r.topic, r.bytes) for r in first] == [("orders", 5)]
    assert [(r.topic, r.bytes) for r in second] == [("orders", 50)]


def test_an_unknown_topic_id_is_stored_under_its_id_after_the_grace_time() -> None:
    # Given
    clock = Clock(datetime(2026, 12, 3, 10, 0, tzinfo=UTC).timestamp())
    counts = UsageCounts(ClusterName("c"), TopicNameCache(), clock, unresolved_grace_seconds=600)
    topic_id = uuid.uuid4()
    counts.add(ALICE, topic_id, Direction.EGRESS, 50)
    clock.now += 600 + 900
    # When
    records = counts.drain()
    # Then
    assert [(r.topic, r.bytes) for r in records] == [(f"topic-id:{topic_id}", 50)]


def test_a_failed_flush_is_retried_with_the_same_batch_id_and_new_counts_wait() -> None:
    # Given
    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    sink = FlakySink(failures=2)
    flusher = Flusher(counts, sink, GatewayMetrics(), interval_seconds=3600)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 100)
    flusher.flush()
    counts.add(ALICE, ORDERS, Direction.INGRESS, 11)  # counted during the outage
    # When
    results = [flusher.flush(), flusher.flush(), flusher.flush()]
    # Then
    assert results == [False, True, True]
    assert sink.offered[0] == sink.offered[1] == sink.offered[2]
    assert len(set(sink.offered)) == 2
    first, second = (sink.stored[batch_id] for batch_id in dict.fromkeys(sink.offered))
    assert [r.bytes for r in first] == [100]
    assert [r.bytes for r in second] == [11]


def test_stop_flushes_everything_including_unnamed_topic_ids() -> None:
    # Given
    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    sink = FlakySink(failures=1)
    flusher = Flusher(counts, sink, GatewayMetrics(), interval_seconds=3600)
    topic_id = uuid.uuid4()
    counts.add(ALICE, topic_id, Direction.EGRESS, 9)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 1)
    # When
    is_flushed = flusher.stop(attempts=3, retry_delay_seconds=0)
    # Then
    assert is_flushed
    stored = {(r.topic, r.bytes) for batch in sink.stored.values() for r in batch}
    assert stored == {(f"topic-id:{topic_id}", 9), ("orders", 1)}


def test_stop_reports_usage_it_could_not_write() -> None:
    # Given
    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    flusher = Flusher(counts, FlakySink(failures=99), GatewayMetrics(), interval_seconds=3600)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 1)
    # When
    is_flushed = flusher.stop(attempts=2, retry_delay_seconds=0)
    # Then
    assert not is_flushed
