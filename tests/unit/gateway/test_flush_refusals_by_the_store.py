"""The real flusher in front of a real SQLite store: records the store can never accept (a
count that would pass 64 bits, a name it refuses) are quarantined, and the rest is stored."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chargeback.gateway.counts import UsageCounts
from chargeback.gateway.flush import Flusher
from chargeback.gateway.metrics import GatewayMetrics
from chargeback.gateway.topics import TopicNameCache
from chargeback.store import Store, open_store
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord

CLUSTER = ClusterName("c1")
ORDERS = TopicName("orders")
POISONED, INNOCENT = Principal("poisoned"), Principal("innocent")
# What the adversarial import stored: 5,807 bytes short of 2**63 - 1.
NEARLY_FULL = 9_223_372_036_854_770_000
NOW = datetime(2026, 12, 4, 10, 7, tzinfo=UTC)


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "usage.db"


@pytest.fixture
def store(sqlite_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{sqlite_path}")
    yield opened
    opened.close()


@pytest.fixture
def counts() -> UsageCounts:
    """Counts whose clock stands at NOW, so that their window is known."""
    return UsageCounts(CLUSTER, TopicNameCache(), clock=NOW.timestamp)


def _stored_rows(sqlite_path: Path) -> set[tuple[str, str, str, int]]:
    """(service account, topic, direction, bytes) as the database file holds them."""
    with sqlite3.connect(sqlite_path) as connection:
        rows = connection.execute("SELECT service_account, topic, direction, bytes FROM usage")
        return set(rows.fetchall())


def _metric(metrics: GatewayMetrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(f"chargeback_gateway_{name}")


def _quarantine_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "usage_quarantined" in r.getMessage()]


def test_a_record_that_would_overflow_a_stored_day_is_quarantined_and_other_usage_is_stored(
    store: Store, sqlite_path: Path, counts: UsageCounts, caplog: pytest.LogCaptureFixture
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
    flusher = Flusher(counts, store, metrics, interval_seconds=3600)
    counts.add(INNOCENT, ORDERS, Direction.INGRESS, 100)
    counts.add(POISONED, ORDERS, Direction.INGRESS, 6_000)
    counts.add(INNOCENT, ORDERS, Direction.EGRESS, 50)
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
    store: Store, sqlite_path: Path, counts: UsageCounts
) -> None:
    # Given a flush that quarantined a record whose window was full
    window = NOW.replace(minute=0)
    store.write_usage(
        "import", [UsageRecord(CLUSTER, POISONED, ORDERS, Direction.EGRESS, window, NEARLY_FULL)]
    )
    flusher = Flusher(counts, store, GatewayMetrics(), interval_seconds=3600)
    counts.add(POISONED, ORDERS, Direction.EGRESS, 5_808)
    flusher.flush()
    counts.add(INNOCENT, ORDERS, Direction.EGRESS, 11)
    counts.add(POISONED, ORDERS, Direction.EGRESS, 5_807)  # exactly fills the window

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
    counts: UsageCounts,
    caplog: pytest.LogCaptureFixture,
    principal: str,
    reason: str,
) -> None:
    # Given a client whose client.id (the principal) holds an invisible or bidi character
    metrics = GatewayMetrics()
    flusher = Flusher(counts, store, metrics, interval_seconds=3600)
    counts.add(Principal(principal), ORDERS, Direction.INGRESS, 40)
    counts.add(INNOCENT, ORDERS, Direction.INGRESS, 9)
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
