"""The grid reads: one list of bytes per (service account, direction), one cell per bucket."""

from __future__ import annotations

from datetime import UTC, date, datetime

from chargeback.store import Store
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS


def record(account: str, when: datetime, byte_count: int, cluster: str = "east") -> UsageRecord:
    return UsageRecord(
        ClusterName(cluster), Principal(account), TopicName("t"), INGRESS, when, byte_count
    )


def test_a_daily_grid_has_one_cell_per_day_across_a_month_end(store: Store) -> None:
    # Given
    store.write_usage(
        "b",
        [
            record("alice", datetime(2026, 1, 30, tzinfo=UTC), 1),
            record("alice", datetime(2026, 2, 2, tzinfo=UTC), 20),
            record("alice", datetime(2026, 2, 2, 5, tzinfo=UTC), 300, cluster="west"),
            record("bob", datetime(2026, 2, 10, tzinfo=UTC), 4),
        ],
    )

    # When
    grid = store.daily_grid("UTC", date(2026, 1, 30), date(2026, 2, 3), None)

    # Then
    assert grid.bucket_starts == [
        date(2026, 1, 30),
        date(2026, 1, 31),
        date(2026, 2, 1),
        date(2026, 2, 2),
        date(2026, 2, 3),
    ]
    assert grid.bytes_by_key == {("alice", INGRESS): [1, 0, 0, 320, 0]}


def test_a_monthly_grid_spans_a_year_end_and_stops_at_the_as_of_day(store: Store) -> None:
    # Given
    store.write_usage(
        "b",
        [
            record("alice", datetime(2025, 11, 30, 23, 45, tzinfo=UTC), 1),
            record("alice", datetime(2025, 12, 31, tzinfo=UTC), 20),
            record("alice", datetime(2026, 1, 15, tzinfo=UTC), 300),
            record("alice", datetime(2026, 2, 14, 23, 45, tzinfo=UTC), 4000),
            record("alice", datetime(2026, 2, 15, tzinfo=UTC), 50000),
        ],
    )

    # When
    grid = store.monthly_grid("UTC", date(2025, 12, 1), date(2026, 2, 14), None)

    # Then
    assert grid.bucket_starts == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert grid.bytes_by_key == {("alice", INGRESS): [20, 300, 4000]}


def test_an_account_without_bytes_in_the_period_is_not_in_the_grid(store: Store) -> None:
    # Given usage earlier in the same month, and a record of zero bytes inside the period
    store.write_usage(
        "b",
        [
            record("early", datetime(2026, 3, 1, tzinfo=UTC), 5),
            record("zero", datetime(2026, 3, 20, tzinfo=UTC), 0),
        ],
    )

    # When
    days = store.daily_grid("UTC", date(2026, 3, 15), date(2026, 3, 21), None)
    months = store.monthly_grid("UTC", date(2026, 3, 1), date(2026, 3, 21), "west")

    # Then
    assert days.bytes_by_key == {}
    assert months.bytes_by_key == {}
    assert len(days.bucket_starts) == 7


def test_a_grid_and_the_totals_hold_the_same_numbers(store: Store) -> None:
    # Given
    store.write_usage(
        "b",
        [
            record("alice", datetime(2026, 3, 1, tzinfo=UTC), 5),
            record("bob", datetime(2026, 3, 3, tzinfo=UTC), 7),
        ],
    )

    # When
    grid = store.daily_grid("UTC", date(2026, 3, 1), date(2026, 3, 3), None)
    totals = store.daily_usage("UTC", date(2026, 3, 1), date(2026, 3, 3), None)

    # Then
    assert sorted(grid.totals()) == sorted(totals)
    assert {(t.service_account, t.bucket_start, t.bytes) for t in totals} == {
        ("alice", date(2026, 3, 1), 5),
        ("bob", date(2026, 3, 3), 7),
    }


def test_a_reversed_range_gives_an_empty_grid(store: Store) -> None:
    # Given
    store.write_usage("b", [record("alice", datetime(2026, 3, 1, tzinfo=UTC), 5)])

    # When
    grid = store.daily_grid("UTC", date(2026, 3, 2), date(2026, 3, 1), None)

    # Then
    assert (grid.bucket_starts, grid.bytes_by_key) == ([], {})
