"""Importing usage files: one transaction per file, once per file content, bad lines refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from chargeback.store import Store, UsageTotal
from chargeback.usage import (
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageFileError,
    UsageRecord,
)

HEADER = "timestamp,cluster,service_account,topic,direction,bytes\n"


def write_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def alice_ingress(when: datetime, byte_count: int) -> UsageRecord:
    return UsageRecord(
        ClusterName("prod"), Principal("alice"), TopicName("t"), Direction.INGRESS, when, byte_count
    )


def may_totals(store: Store) -> set[UsageTotal]:
    return set(store.daily_usage("UTC", date(2026, 5, 1), date(2026, 5, 31), None))


def test_a_csv_file_is_imported_with_timestamps_floored_to_their_window(
    store: Store, tmp_path: Path
) -> None:
    # Given
    path = write_file(
        tmp_path,
        "usage.csv",
        HEADER
        + "2026-05-01T10:07:59Z,prod,alice,orders,ingress,100\n"
        + "2026-05-01T12:14:00+02:00,prod,alice,orders,ingress,20\n"
        + '2026-05-02T00:00:00Z,prod,"bob, the builder",orders,egress,5\n',
    )

    # When
    result = store.import_usage_file(path)

    # Then
    assert result.is_new
    assert result.records_read == 3
    assert may_totals(store) == {
        UsageTotal("alice", Direction.INGRESS, date(2026, 5, 1), 120),
        UsageTotal("bob, the builder", Direction.EGRESS, date(2026, 5, 2), 5),
    }


def test_importing_the_same_file_twice_counts_it_once(store: Store, tmp_path: Path) -> None:
    # Given
    path = write_file(
        tmp_path,
        "usage.jsonl",
        '{"timestamp": "2026-05-01T10:00:00Z", "cluster": "prod", '
        '"service_account": "alice", "topic": "t", "direction": "egress", "bytes": 7}\n',
    )
    first = store.import_usage_file(path)

    # When
    second = store.import_usage_file(path)

    # Then
    assert first.batch_id == second.batch_id
    assert (first.is_new, second.is_new) == (True, False)
    assert may_totals(store) == {UsageTotal("alice", Direction.EGRESS, date(2026, 5, 1), 7)}


def test_a_bad_line_late_in_a_file_leaves_nothing_of_the_file_imported(
    store: Store, tmp_path: Path
) -> None:
    # Given more good rows than one write chunk, then a negative byte count
    good_rows = "".join(f"2026-05-01T00:00:00Z,prod,svc-{n},t,ingress,1\n" for n in range(25_000))
    path = write_file(
        tmp_path, "usage.csv", HEADER + good_rows + "2026-05-01T00:00:00Z,prod,x,t,ingress,-3\n"
    )
    store.materialize_zone("UTC")

    # When
    with pytest.raises(UsageFileError) as refused:
        store.import_usage_file(path)

    # Then
    assert refused.value.line_number == 25_002
    assert "not a non-negative integer" in str(refused.value)
    assert may_totals(store) == set()
    assert store.clusters() == []


def test_progress_reports_lines_done_out_of_lines_in_the_file(store: Store, tmp_path: Path) -> None:
    # Given
    rows = "".join(f"2026-05-01T00:00:00Z,prod,svc-{n},t,ingress,1\n" for n in range(45_000))
    path = write_file(tmp_path, "usage.csv", HEADER + rows)
    calls: list[tuple[int, int]] = []

    # When
    store.import_usage_file(path, lambda done, total: calls.append((done, total)))

    # Then
    assert calls[-1] == (45_001, 45_001)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) >= 3


def test_records_imported_as_one_batch_reach_every_materialized_zone(store: Store) -> None:
    # Given
    store.materialize_zone("Asia/Kathmandu")
    records = [
        alice_ingress(datetime(2026, 5, 1, 18, 0, tzinfo=UTC), 1),
        alice_ingress(datetime(2026, 5, 1, 18, 15, tzinfo=UTC), 10),
    ]

    # When
    is_new = store.import_usage(iter(records), "backfill-1")

    # Then
    assert is_new
    assert set(store.daily_usage("Asia/Kathmandu", date(2026, 5, 1), date(2026, 5, 2), None)) == {
        UsageTotal("alice", Direction.INGRESS, date(2026, 5, 1), 1),
        UsageTotal("alice", Direction.INGRESS, date(2026, 5, 2), 10),
    }
    assert store.import_usage(iter(records), "backfill-1") is False
