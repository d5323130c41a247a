"""Writing usage: batch ids, validation, atomicity, clusters, rollups after late writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import cast

import pytest

from chargeback.store import Store, StoreError, UsageTotal
from chargeback.usage import (
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageRecord,
    UsageRefusedError,
)

INGRESS, EGRESS = Direction.INGRESS, Direction.EGRESS


def usage(
    account: str,
    when: datetime,
    byte_count: int,
    direction: Direction = INGRESS,
    *,
    cluster: str = "prod",
    topic: str = "orders",
) -> UsageRecord:
    return UsageRecord(
        ClusterName(cluster), Principal(account), TopicName(topic), direction, when, byte_count
    )


def at(day: int, hour: int = 0, minute: int = 0, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def day_totals(
    store: Store, first: date, last: date, cluster: str | None = None
) -> set[UsageTotal]:
    return set(store.daily_usage("UTC", first, last, cluster))


def test_written_usage_is_read_back_per_day_and_direction(store: Store) -> None:
    # Given
    records = [
        usage("alice", at(1, 0, 0), 100),
        usage("alice", at(1, 23, 45), 20, topic="payments"),
        usage("alice", at(2, 0, 0), 7),
        usage("bob", at(1, 12, 0), 5, EGRESS),
    ]

    # When
    is_new = store.write_usage("batch-1", records)

    # Then
    assert is_new
    assert day_totals(store, date(2026, 5, 1), date(2026, 5, 2)) == {
        UsageTotal("alice", INGRESS, date(2026, 5, 1), 120),
        UsageTotal("alice", INGRESS, date(2026, 5, 2), 7),
        UsageTotal("bob", EGRESS, date(2026, 5, 1), 5),
    }


def test_writing_the_same_batch_id_again_changes_nothing(store: Store) -> None:
    # Given
    records = [usage("alice", at(1), 100)]
    store.write_usage("batch-1", records)

    # When
    again = store.write_usage("batch-1", [*records, usage("bob", at(1), 1)])

    # Then
    assert again is False
    assert day_totals(store, date(2026, 5, 1), date(2026, 5, 1)) == {
        UsageTotal("alice", INGRESS, date(2026, 5, 1), 100)
    }


def test_records_with_the_same_key_add_up_within_and_across_batches(store: Store) -> None:
    # Given
    store.write_usage("batch-1", [usage("alice", at(1), 100), usage("alice", at(1), 11)])

    # When
    store.write_usage("batch-2", [usage("alice", at(1), 1000)])

    # Then
    assert day_totals(store, date(2026, 5, 1), date(2026, 5, 1)) == {
        UsageTotal("alice", INGRESS, date(2026, 5, 1), 1111)
    }


@pytest.mark.parametrize(
    ("bad_record", "message"),
    [
        (usage("alice", datetime(2026, 5, 1), 1), "has no time zone"),  # noqa: DTZ001
        (usage("alice", at(1, 0, 7), 1), "not on a 15-minute boundary"),
        (usage("alice", at(1), -1), "not a non-negative integer"),
        (usage("alice", at(1), True), "not a non-negative integer"),
        (usage("", at(1), 1), "service_account '' is not a non-empty string"),
        (
            usage("alice", at(1), 1, cast(Direction, "sideways")),
            "direction 'sideways' is not ingress or egress",
        ),
    ],
)
def test_a_bad_record_is_refused_and_nothing_of_its_batch_is_written(
    store: Store, bad_record: UsageRecord, message: str
) -> None:
    # Given
    batch = [usage("alice", at(1), 100), bad_record]

    # When
    with pytest.raises(StoreError, match=message) as refused:
        store.write_usage("batch-1", batch)

    # Then
    assert "batch 'batch-1', record 2" in str(refused.value)
    assert day_totals(store, date(2026, 4, 30), date(2026, 5, 1)) == set()
    assert not store.has_batch("batch-1")
    assert store.write_usage("batch-1", batch[:1]) is True


def test_a_refused_batch_names_every_bad_record_so_that_the_rest_can_be_written(
    store: Store,
) -> None:
    # Given: records 2 and 4 (indexes 1 and 3) are bad
    batch = [
        usage("alice", at(1), 100),
        usage("alice", at(1), 5, topic=""),
        usage("bob", at(1), 7),
        usage("", at(1), 9),
    ]

    # When
    with pytest.raises(UsageRefusedError) as refused:
        store.write_usage("batch-1", batch)

    # Then: a StoreError too, naming both; the batch id is still free for the good records
    assert isinstance(refused.value, StoreError)
    assert refused.value.refused == {
        1: "record 2: topic '' is not a non-empty string",
        3: "record 4: service_account '' is not a non-empty string",
    }
    assert not store.has_batch("batch-1")
    assert store.write_usage("batch-1", [batch[0], batch[2]]) is True
    assert day_totals(store, date(2026, 5, 1), date(2026, 5, 1)) == {
        UsageTotal("alice", INGRESS, date(2026, 5, 1), 100),
        UsageTotal("bob", INGRESS, date(2026, 5, 1), 7),
    }


def test_usage_of_all_clusters_is_summed_unless_one_is_chosen(store: Store) -> None:
    # Given
    store.write_usage(
        "batch-1",
        [usage("alice", at(1), 100, cluster="prod"), usage("alice", at(1), 10, cluster="dev")],
    )

    # When
    everywhere = day_totals(store, date(2026, 5, 1), date(2026, 5, 1))
    on_dev = day_totals(store, date(2026, 5, 1), date(2026, 5, 1), "dev")

    # Then
    assert everywhere == {UsageTotal("alice", INGRESS, date(2026, 5, 1), 110)}
    assert on_dev == {UsageTotal("alice", INGRESS, date(2026, 5, 1), 10)}
    assert store.clusters() == ["dev", "prod"]


def test_a_late_write_into_an_old_window_updates_every_report(store: Store) -> None:
    # Given reports in two zones were already read (their rollups exist)
    store.write_usage("batch-1", [usage("alice", at(1, 22, 0), 100)])
    store.daily_usage("UTC", date(2026, 5, 1), date(2026, 5, 1), None)
    store.monthly_usage("Asia/Tokyo", date(2026, 5, 1), date(2026, 5, 31), None)

    # When usage for the same old window arrives much later
    store.write_usage("batch-2", [usage("alice", at(1, 22, 0), 5)])

    # Then (22:00 UTC on 1 May is 07:00 on 2 May in Tokyo)
    assert store.daily_usage("Asia/Tokyo", date(2026, 5, 1), date(2026, 5, 2), None) == [
        UsageTotal("alice", INGRESS, date(2026, 5, 2), 105)
    ]
    assert store.monthly_usage("UTC", date(2026, 5, 1), date(2026, 5, 31), None) == [
        UsageTotal("alice", INGRESS, date(2026, 5, 1), 105)
    ]


def test_an_empty_batch_is_remembered(store: Store) -> None:
    # When
    first = store.write_usage("empty", [])

    # Then
    assert first is True
    assert store.write_usage("empty", []) is False


def test_an_unknown_zone_is_refused_by_name(store: Store) -> None:
    with pytest.raises(StoreError, match="'Mars/Olympus' is not an IANA time zone"):
        store.daily_usage("Mars/Olympus", date(2026, 5, 1), date(2026, 5, 1), None)


def test_usage_spanning_a_long_period_reads_back_whole(store: Store) -> None:
    # Given one record a day for 400 days
    first = at(1, 12, 0, month=1)
    records = [usage("alice", first + timedelta(days=n), n + 1) for n in range(400)]
    store.write_usage("batch-1", records)

    # When
    totals = store.daily_usage("UTC", first.date(), (first + timedelta(days=399)).date(), None)

    # Then
    assert sum(total.bytes for total in totals) == sum(range(1, 401))
    assert len(totals) == 400
