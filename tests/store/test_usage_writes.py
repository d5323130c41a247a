"""Writing usage: batch ids, validation, atomicity, clusters, rollups after late writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import cast

import pytest

from chargeback.store import RecordsRefusedError, Store, StoreError, UsageTotal
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
        (usage("alice", at(1), 2**63), f"bytes {2**63} is more than {2**63 - 1}"),
        (
            usage("nul\x00x", at(1), 1),
            r"service_account 'nul\\x00x' holds the control character U\+0000",
        ),
        (
            usage("alice", at(1), 1, cluster="a\nb"),
            r"cluster 'a\\nb' holds the control character U\+000A",
        ),
        (
            usage("alice", at(1), 1, topic="t\x85"),
            r"topic 't\\x85' holds the control character U\+0085",
        ),
        (usage("alice", at(1), 1, topic="\ud800"), "holds the lone surrogate U\\+D800"),
        (
            usage("\u202eevil", at(1), 1),
            r"service_account '\\u202eevil' holds the format character U\+202E "
            r"\(RIGHT-TO-LEFT OVERRIDE\)",
        ),
        (
            usage("alice", at(1), 1, topic="a\u200bb"),
            r"topic 'a\\u200bb' holds the format character U\+200B \(ZERO WIDTH SPACE\)",
        ),
        (
            usage("alice", at(1), 1, cluster="a\u2028b"),
            r"cluster 'a\\u2028b' holds the line separator U\+2028",
        ),
        (
            usage("alice", datetime(9999, 12, 31, 12, tzinfo=UTC), 1),
            "window start 9999-12-31T12:00:00\\+00:00 is not before 9999-01-01",
        ),
        (
            usage("alice", datetime(9999, 1, 1, tzinfo=UTC), 1),
            "is not before 9999-01-01T00:00:00\\+00:00, the latest usage the store keeps",
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
    with pytest.raises(StoreError, match=r"^unknown time zone 'Mars/Olympus': use an IANA name"):
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


def test_the_last_window_before_year_9999_reads_back_in_a_zone_built_after_it(
    store: Store,
) -> None:
    # Given the latest window the store keeps: 14:00 on 1 January 9999 in Kiritimati (UTC+14)
    store.write_usage("late", [usage("alice", datetime(9998, 12, 31, 23, 45, tzinfo=UTC), 5)])

    # When the zone's rollups are built from it
    totals = store.daily_usage("Pacific/Kiritimati", date(9998, 12, 31), date(9999, 1, 1), None)

    # Then
    assert totals == [UsageTotal("alice", INGRESS, date(9999, 1, 1), 5)]


MAX_BYTES = 2**63 - 1


def test_records_whose_bytes_add_up_past_64_bits_in_one_window_are_refused(
    store: Store,
) -> None:
    # Given records of one key and window that reach the limit, then one byte more
    batch = [
        usage("alice", at(1), MAX_BYTES - 1),
        usage("alice", at(1), 1),
        usage("alice", at(1), 1),
    ]

    # When
    with pytest.raises(RecordsRefusedError) as refused:
        store.write_usage("batch-1", batch)

    # Then the third record is the one that passes the limit, and nothing is written
    assert str(refused.value) == (
        "batch 'batch-1', record 3: the bytes of cluster 'prod', service account 'alice', "
        f"topic 'orders', ingress, window 2026-05-01T00:00:00+00:00 add up to {2**63}, "
        f"more than {MAX_BYTES} (2**63 - 1), the most the store can count"
    )
    assert refused.value.refused == {
        2: "record 3: the bytes of cluster 'prod', service account 'alice', topic 'orders', "
        f"ingress, window 2026-05-01T00:00:00+00:00 would add up to {2**63}, more than "
        f"{MAX_BYTES} (2**63 - 1), the most the store can count"
    }
    assert not store.has_batch("batch-1")
    assert day_totals(store, date(2026, 5, 1), date(2026, 5, 1)) == set()


_ALICE_ON_PROD = "the ingress bytes of service account 'alice' on cluster 'prod'"


@pytest.mark.parametrize(
    ("stored", "added", "counted_per", "count_named"),
    [
        (
            usage("alice", at(1), MAX_BYTES),
            usage("alice", at(1), 1),
            "topic, direction and window",
            "the bytes of cluster 'prod', service account 'alice', topic 'orders', ingress, "
            "window 2026-05-01T00:00:00+00:00",
        ),
        (
            usage("alice", at(1), MAX_BYTES),
            usage("alice", at(1, 23, 45), 1, topic="payments"),
            "direction and local day",
            f"{_ALICE_ON_PROD} in local day 2026-05-01 (UTC)",
        ),
        (
            usage("alice", at(1), MAX_BYTES),
            usage("alice", at(31), 1, topic="payments"),
            "direction and local month",
            f"{_ALICE_ON_PROD} in local month 2026-05 (UTC)",
        ),
    ],
    ids=["window", "day", "month"],
)
def test_a_record_that_would_take_a_stored_count_past_64_bits_is_named_and_the_rest_fits(
    store: Store, stored: UsageRecord, added: UsageRecord, counted_per: str, count_named: str
) -> None:
    # Given a count at the limit, and a record of someone else in the same batch
    store.write_usage("full", [stored])
    batch = [usage("bob", at(1), 7), added]

    # When
    with pytest.raises(RecordsRefusedError, match=f"already stored for one .*{counted_per}") as (
        refused
    ):
        store.write_usage("more", batch)

    # Then the record is named (retrying it can never help), nothing was written, and the
    # batch id is still free for the rest
    assert refused.value.refused == {
        1: f"record 2: {count_named} would add up to {2**63}, more than {MAX_BYTES} "
        "(2**63 - 1), the most the store can count"
    }
    assert not store.has_batch("more")
    assert store.write_usage("more", batch[:1]) is True
    assert day_totals(store, date(2026, 5, 1), date(2026, 5, 31)) == {
        UsageTotal("alice", INGRESS, date(2026, 5, 1), MAX_BYTES),
        UsageTotal("bob", INGRESS, date(2026, 5, 1), 7),
    }


def test_records_are_taken_in_order_and_only_those_that_no_longer_fit_are_refused(
    store: Store,
) -> None:
    # Given alice's day holds 10 bytes less than the limit
    store.write_usage("nearly-full", [usage("alice", at(1), MAX_BYTES - 10)])
    batch = [
        usage("bob", at(1), 7),
        usage("alice", at(1, 1), 11, topic="t1"),  # 11 > 10 left: refused
        usage("alice", at(1, 2), 4, topic="t2"),  # 6 left after it
        usage("alice", at(1, 3), 6, topic="t3"),  # 0 left after it
        usage("alice", at(1, 4), 1, topic="t4"),  # nothing left: refused
    ]

    # When
    with pytest.raises(RecordsRefusedError) as refused:
        store.write_usage("batch-1", batch)

    # Then
    assert sorted(refused.value.refused) == [1, 4]
    assert refused.value.refused[4].startswith(
        f"record 5: {_ALICE_ON_PROD} in local day 2026-05-01 (UTC) would add up to {2**63},"
    )
    assert store.write_usage("batch-1", [batch[0], batch[2], batch[3]]) is True
    assert day_totals(store, date(2026, 5, 1), date(2026, 5, 1)) == {
        UsageTotal("alice", INGRESS, date(2026, 5, 1), MAX_BYTES),
        UsageTotal("bob", INGRESS, date(2026, 5, 1), 7),
    }


def test_a_record_that_overflows_a_local_day_of_another_zone_only_is_named_with_the_zone(
    store: Store,
) -> None:
    # Given 20:00 UTC on 30 April, stored: 1 May in Tokyo (UTC+9), whose rollups exist
    store.write_usage("stored", [usage("alice", datetime(2026, 4, 30, 20, tzinfo=UTC), MAX_BYTES)])
    store.materialize_zone("Asia/Tokyo")
    # 04:00 UTC on 1 May: another UTC day and month, but 1 May in Tokyo too
    batch = [usage("alice", datetime(2026, 5, 1, 4, tzinfo=UTC), 1), usage("bob", at(1), 3)]

    # When
    with pytest.raises(RecordsRefusedError) as refused:
        store.write_usage("batch-1", batch)

    # Then
    assert refused.value.refused == {
        0: f"record 1: {_ALICE_ON_PROD} in local day 2026-05-01 (Asia/Tokyo) would add up to "
        f"{2**63}, more than {MAX_BYTES} (2**63 - 1), the most the store can count"
    }
    assert store.write_usage("batch-1", batch[1:]) is True


def test_a_batch_whose_day_would_pass_64_bits_is_refused_with_the_day_named(
    store: Store,
) -> None:
    # Given two windows of one day that each fit, but not together
    batch = [usage("alice", at(1, 1), MAX_BYTES - 5), usage("alice", at(1, 2), 6, topic="x")]

    # When
    with pytest.raises(RecordsRefusedError) as refused:
        store.write_usage("batch-1", batch)

    # Then the second record is the one that no longer fits
    assert str(refused.value) == (
        "the ingress bytes of service account 'alice' on cluster 'prod' in local day "
        f"2026-05-01 (UTC) would add up to {2**63}, more than {MAX_BYTES} (2**63 - 1), the "
        "most the store can count; nothing of this write was stored"
    )
    assert list(refused.value.refused) == [1]
    assert not store.has_batch("batch-1")


def test_a_zone_whose_local_day_would_pass_64_bits_is_not_built_and_says_why(
    store: Store,
) -> None:
    # Given 20:00 UTC on 30 April and 04:00 UTC on 1 May: other UTC days and months, but
    # both on 1 May in Tokyo (UTC+9), where together they pass the limit
    half = 2**62
    store.write_usage(
        "batch-1",
        [
            usage("alice", datetime(2026, 4, 30, 20, tzinfo=UTC), half),
            usage("alice", datetime(2026, 5, 1, 4, tzinfo=UTC), half),
        ],
    )

    # When
    with pytest.raises(StoreError) as refused:
        store.materialize_zone("Asia/Tokyo")

    # Then the zone is not listed as built, and UTC reads on
    assert str(refused.value) == (
        "cannot build the rollups of time zone 'Asia/Tokyo': the bytes of one service account "
        f"in one local day or month would pass {MAX_BYTES} (2**63 - 1), the most the store "
        "can count"
    )
    assert day_totals(store, date(2026, 4, 30), date(2026, 5, 1)) == {
        UsageTotal("alice", INGRESS, date(2026, 4, 30), half),
        UsageTotal("alice", INGRESS, date(2026, 5, 1), half),
    }
    with pytest.raises(StoreError, match="cannot build the rollups of time zone 'Asia/Tokyo'"):
        store.daily_usage("Asia/Tokyo", date(2026, 5, 1), date(2026, 5, 1), None)
