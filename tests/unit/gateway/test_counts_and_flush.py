"""Counting per window, and the flush thread's exactly-once bookkeeping (also with a real
SQLite store behind the flusher, for records the store refuses)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chargeback.gateway.counts import UsageCounts
from chargeback.gateway.flush import Flusher
from chargeback.gateway.metrics import GatewayMetrics
from chargeback.gateway.topics import TopicNameCache
from chargeback.store import Store, open_store
from chargeback.usage import (
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageRecord,
    UsageRefusedError,
)

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


def test_stop_gives_up_on_a_sink_that_never_returns_and_logs_the_bytes_not_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given: a flush thread stuck in a write, and usage counted since
    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    sink = HangingSink()
    sink.hang = True
    flusher = Flusher(counts, sink, GatewayMetrics(), interval_seconds=0.01)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 700)
    flusher.start()
    sink.entered.wait()
    counts.add(ALICE, ORDERS, Direction.INGRESS, 55)
    # When
    is_flushed = flusher.stop(attempts=5, retry_delay_seconds=0, timeout_seconds=0.2)
    sink.release.set()
    # Then: the stop returned (the test's deadline would fail it otherwise) and names the loss
    assert not is_flushed
    lost = [r.getMessage() for r in caplog.records if "usage_not_flushed" in r.getMessage()]
    assert len(lost) == 1
    assert "pending_bytes=700 unbatched_bytes=55" in lost[0]
    assert "event=final_flush_abandoned" in caplog.text


# --- records the store refuses for good ----------------------------------------------------


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "usage.db"


@pytest.fixture
def store(sqlite_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{sqlite_path}")
    yield opened
    opened.close()


def _stored_rows(sqlite_path: Path) -> set[tuple[str, str, str, int]]:
    """(service account, topic, direction, bytes) as the database file holds them."""
    with sqlite3.connect(sqlite_path) as connection:
        rows = connection.execute("SELECT service_account, topic, direction, bytes FROM usage")
        return set(rows.fetchall())


def _metric(metrics: GatewayMetrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(f"chargeback_gateway_{name}")


class OutageInFront:
    """The real store behind calls that fail (store unreachable) when their number is listed."""

    def __init__(self, store: Store, failing_calls: set[int]) -> None:
        self._store = store
        self._failing_calls = failing_calls
        self.offered: list[str] = []

    def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> bool:
        self.offered.append(batch_id)
        if len(self.offered) in self._failing_calls:
            raise ConnectionError("store unreachable")
        return self._store.write_usage(batch_id, records)


def test_a_record_the_store_refuses_is_quarantined_and_the_rest_is_written(
    store: Store, sqlite_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given: an empty topic name (the store refuses it) counted among good usage
    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    metrics = GatewayMetrics()
    flusher = Flusher(counts, store, metrics, interval_seconds=3600)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 100)
    counts.add(ALICE, TopicName(""), Direction.INGRESS, 5)
    counts.add(Principal("bob"), ORDERS, Direction.EGRESS, 7)
    caplog.set_level(logging.ERROR, logger="chargeback.gateway")
    # When
    is_flushed = flusher.flush()
    # Then: the good records are stored, the bad one is logged and counted, nothing is pending
    assert is_flushed
    assert _stored_rows(sqlite_path) == {
        ("alice", "orders", "ingress", 100),
        ("bob", "orders", "egress", 7),
    }
    assert _metric(metrics, "quarantined_records_total") == 1.0
    assert _metric(metrics, "quarantined_bytes_total") == 5.0
    assert _metric(metrics, "unflushed_bytes") == 0.0
    assert _metric(metrics, "flushes_total") == 1.0
    [line] = [r.getMessage() for r in caplog.records if "usage_quarantined" in r.getMessage()]
    assert "service_account='alice' topic='' direction=ingress" in line
    assert "bytes=5 reason=\"record 2: topic '' is not a non-empty string\"" in line


def test_usage_counted_after_a_refused_record_keeps_flowing(
    store: Store, sqlite_path: Path
) -> None:
    # Given: a flush that met a refused record
    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    flusher = Flusher(counts, store, GatewayMetrics(), interval_seconds=3600)
    counts.add(ALICE, TopicName(""), Direction.INGRESS, 5)
    flusher.flush()
    counts.add(ALICE, ORDERS, Direction.INGRESS, 11)
    # When
    is_flushed = flusher.flush()
    # Then
    assert is_flushed
    assert _stored_rows(sqlite_path) == {("alice", "orders", "ingress", 11)}


def test_an_outage_after_a_refusal_retries_the_rest_under_the_same_batch_id(
    store: Store, sqlite_path: Path
) -> None:
    # Given: the store refuses one record (call 1), then is unreachable (call 2)
    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    sink = OutageInFront(store, failing_calls={2})
    metrics = GatewayMetrics()
    flusher = Flusher(counts, sink, metrics, interval_seconds=3600)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 100)
    counts.add(ALICE, TopicName(""), Direction.INGRESS, 5)
    first = flusher.flush()
    unflushed_during_outage = _metric(metrics, "unflushed_bytes")
    # When
    second = flusher.flush()
    # Then: one batch id throughout, stored once, with the good record only
    assert (first, second) == (False, True)
    assert unflushed_during_outage == 100.0
    assert len(sink.offered) == 3
    assert len(set(sink.offered)) == 1
    assert store.has_batch(sink.offered[0])
    assert _stored_rows(sqlite_path) == {("alice", "orders", "ingress", 100)}
    assert _metric(metrics, "flush_failures_total") == 1.0


def test_a_batch_refused_without_naming_records_is_quarantined_whole() -> None:
    # Given: a sink that refuses for good without saying which records
    class RefusingSink:
        def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> None:
            raise UsageRefusedError("no", {})

    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    metrics = GatewayMetrics()
    flusher = Flusher(counts, RefusingSink(), metrics, interval_seconds=3600)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 3)
    counts.add(ALICE, TopicName("other"), Direction.INGRESS, 4)
    # When
    is_flushed = flusher.flush()
    # Then: nothing stays pending for ever
    assert is_flushed
    assert _metric(metrics, "quarantined_records_total") == 2.0
    assert _metric(metrics, "quarantined_bytes_total") == 7.0


# A count that would pass 64 bits, or a name the store refuses: final refusals too. The
# clock stands at NOW, so that the window of what is counted is known.
CLUSTER = ClusterName("c1")
POISONED, INNOCENT = Principal("poisoned"), Principal("innocent")
# What an adversarial import stored: 5,807 bytes short of 2**63 - 1.
NEARLY_FULL = 9_223_372_036_854_770_000
NOW = datetime(2026, 12, 4, 10, 7, tzinfo=UTC)


@pytest.fixture
def counts_now() -> UsageCounts:
    """Counts whose clock stands at NOW."""
    return UsageCounts(CLUSTER, TopicNameCache(), clock=NOW.timestamp)


def _quarantine_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "usage_quarantined" in r.getMessage()]


def test_a_record_that_would_overflow_a_stored_day_is_quarantined_and_other_usage_is_stored(
    store: Store, sqlite_path: Path, counts_now: UsageCounts, caplog: pytest.LogCaptureFixture
) -> None:
    # Given 'poisoned' has a nearly full day (imported under another topic), and the gateway
    # counted 6,000 more bytes of it today, between usage of someone else
    midnight = NOW.replace(hour=0, minute=0)
    store.write_usage(
        "import",
        [
            UsageRecord(
                CLUSTER, POISONED, TopicName("other"), Direction.INGRESS, midnight, NEARLY_FULL
            )
        ],
    )
    metrics = GatewayMetrics()
    flusher = Flusher(counts_now, store, metrics, interval_seconds=3600)
    counts_now.add(INNOCENT, ORDERS, Direction.INGRESS, 100)
    counts_now.add(POISONED, ORDERS, Direction.INGRESS, 6_000)
    counts_now.add(INNOCENT, ORDERS, Direction.EGRESS, 50)
    caplog.set_level(logging.ERROR, logger="chargeback.gateway")

    # When
    is_flushed = flusher.flush()

    # Then the innocent usage is stored, the poisoned record is set aside with its reason,
    # and nothing is left to retry
    assert is_flushed
    assert _stored_rows(sqlite_path) == {
        ("poisoned", "other", "ingress", NEARLY_FULL),
        ("innocent", "orders", "ingress", 100),
        ("innocent", "orders", "egress", 50),
    }
    assert _metric(metrics, "quarantined_records_total") == 1.0
    assert _metric(metrics, "quarantined_bytes_total") == 6_000.0
    assert _metric(metrics, "flush_failures_total") == 0.0
    [line] = _quarantine_lines(caplog)
    assert "service_account='poisoned' topic='orders' direction=ingress" in line
    assert (
        "the ingress bytes of service account 'poisoned' on cluster 'c1' in local day "
        f"2026-12-04 (UTC) would add up to {NEARLY_FULL + 6_000}, more than" in line
    )


def test_usage_counted_after_an_overflowing_record_keeps_flowing(
    store: Store, sqlite_path: Path, counts_now: UsageCounts
) -> None:
    # Given a flush that quarantined a record whose window was full
    window = NOW.replace(minute=0)
    store.write_usage(
        "import", [UsageRecord(CLUSTER, POISONED, ORDERS, Direction.EGRESS, window, NEARLY_FULL)]
    )
    flusher = Flusher(counts_now, store, GatewayMetrics(), interval_seconds=3600)
    counts_now.add(POISONED, ORDERS, Direction.EGRESS, 5_808)
    flusher.flush()
    counts_now.add(INNOCENT, ORDERS, Direction.EGRESS, 11)
    counts_now.add(POISONED, ORDERS, Direction.EGRESS, 5_807)  # exactly fills the window

    # When
    is_flushed = flusher.flush()

    # Then
    assert is_flushed
    assert _stored_rows(sqlite_path) == {
        ("poisoned", "orders", "egress", 2**63 - 1),
        ("innocent", "orders", "egress", 11),
    }


@pytest.mark.parametrize(
    ("principal", "reason"),
    [
        ("\u202eevil", "holds the format character U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("team\u200ba", "holds the format character U+200B (ZERO WIDTH SPACE)"),
        ("team\u2028a", "holds the line separator U+2028 (LINE SEPARATOR)"),
    ],
)
def test_a_principal_the_store_refuses_is_quarantined_and_the_rest_is_stored(
    store: Store,
    sqlite_path: Path,
    counts_now: UsageCounts,
    caplog: pytest.LogCaptureFixture,
    principal: str,
    reason: str,
) -> None:
    # Given a client whose client.id (the principal) holds an invisible or bidi character
    metrics = GatewayMetrics()
    flusher = Flusher(counts_now, store, metrics, interval_seconds=3600)
    counts_now.add(Principal(principal), ORDERS, Direction.INGRESS, 40)
    counts_now.add(INNOCENT, ORDERS, Direction.INGRESS, 9)
    caplog.set_level(logging.ERROR, logger="chargeback.gateway")

    # When
    is_flushed = flusher.flush()

    # Then its usage is logged with every field (escaped) for a manual import, never stored
    assert is_flushed
    assert _stored_rows(sqlite_path) == {("innocent", "orders", "ingress", 9)}
    assert _metric(metrics, "quarantined_bytes_total") == 40.0
    [line] = _quarantine_lines(caplog)
    assert f"service_account={principal!r}" in line
    assert line.endswith(f"reason={f'record 1: service_account {principal!r} {reason}'!r}")


# --- gauges computed when scraped ----------------------------------------------------------


class HangingSink:
    """Stores at once, unless `hang` is set: then blocks until `release` is set."""

    def __init__(self) -> None:
        self.hang = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> None:
        if self.hang:
            self.entered.set()
            self.release.wait()


def test_flush_lag_counts_from_the_last_success_whenever_it_is_scraped() -> None:
    # Given: a flush succeeded at t=1000
    clock = Clock(1000.0)
    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    sink = HangingSink()
    metrics = GatewayMetrics()
    flusher = Flusher(counts, sink, metrics, interval_seconds=3600, monotonic=clock)
    counts.add(ALICE, ORDERS, Direction.INGRESS, 1)
    flusher.flush()
    # When: time passes with no flush at all, then a flush hangs in the store
    clock.now = 1005.0
    lag_without_flushing = _metric(metrics, "flush_lag_seconds")
    counts.add(ALICE, ORDERS, Direction.INGRESS, 1)
    sink.hang = True
    hanging = threading.Thread(target=flusher.flush)
    hanging.start()
    sink.entered.wait()
    clock.now = 1100.0
    lag_while_hanging = _metric(metrics, "flush_lag_seconds")
    sink.release.set()
    hanging.join()
    # Then
    assert (lag_without_flushing, lag_while_hanging) == (5.0, 100.0)


def test_unflushed_bytes_include_what_was_counted_since_the_last_flush() -> None:
    # Given
    counts = UsageCounts(ClusterName("c"), TopicNameCache())
    metrics = GatewayMetrics()
    Flusher(counts, FlakySink(), metrics, interval_seconds=3600)
    # When: usage is counted, and no flush runs
    counts.add(ALICE, ORDERS, Direction.INGRESS, 40)
    counts.add(ALICE, ORDERS, Direction.EGRESS, 2)
    # Then
    assert _metric(metrics, "unflushed_bytes") == 42.0
