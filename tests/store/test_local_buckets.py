"""Local days and months: daylight-saving days, odd offsets, month and year ends, 29 February.

Expected numbers are worked out by hand from the zone rules (a 23-hour day holds 92 quarter
hours), never by the store's own arithmetic.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chargeback.store import Store, UsageTotal
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord

QUARTER_HOUR = timedelta(minutes=15)
ZONES_USED = [
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "UTC",
]


def one_byte_per_window(first: datetime, end: datetime) -> list[UsageRecord]:
    """One byte in every window from `first` (inclusive) to `end` (exclusive)."""
    records = []
    when = first
    while when < end:
        records.append(one_record(when, 1))
        when += QUARTER_HOUR
    return records


def one_record(when: datetime, byte_count: int) -> UsageRecord:
    return UsageRecord(
        ClusterName("prod"), Principal("alice"), TopicName("t"), Direction.INGRESS, when, byte_count
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(params=["built from raw usage", "kept up to date by writes"])
def store(request: pytest.FixtureRequest, store: Store) -> Store:
    """The store, with the zones used here materialized before the test writes, or not."""
    if request.param == "kept up to date by writes":
        for zone in ZONES_USED:
            store.materialize_zone(zone)
    return store


def bytes_per_day(store: Store, zone: str, first: date, last: date) -> dict[date, int]:
    return {t.bucket_start: t.bytes for t in store.daily_usage(zone, first, last, None)}


def test_berlin_spring_forward_day_has_23_hours(store: Store) -> None:
    # Given one byte per quarter hour around 29 March 2026 (clocks go 02:00 -> 03:00)
    store.write_usage("b", one_byte_per_window(utc(2026, 3, 27), utc(2026, 4, 1)))

    # When
    days = bytes_per_day(store, "Europe/Berlin", date(2026, 3, 28), date(2026, 3, 30))

    # Then
    assert days == {date(2026, 3, 28): 24 * 4, date(2026, 3, 29): 23 * 4, date(2026, 3, 30): 96}


def test_berlin_fall_back_day_has_25_hours(store: Store) -> None:
    # Given one byte per quarter hour around 25 October 2026 (clocks go 03:00 -> 02:00)
    store.write_usage("b", one_byte_per_window(utc(2026, 10, 23), utc(2026, 10, 28)))

    # When
    days = bytes_per_day(store, "Europe/Berlin", date(2026, 10, 24), date(2026, 10, 26))

    # Then
    assert days == {date(2026, 10, 24): 96, date(2026, 10, 25): 25 * 4, date(2026, 10, 26): 96}


def test_lord_howe_days_shift_by_half_an_hour(store: Store) -> None:
    # Given Lord Howe (UTC+10:30, +11 in summer) moves clocks by 30 minutes on 5 April and
    # 4 October 2026
    store.write_usage("a", one_byte_per_window(utc(2026, 4, 2), utc(2026, 4, 8)))
    store.write_usage("b", one_byte_per_window(utc(2026, 10, 1), utc(2026, 10, 7)))

    # When
    april = bytes_per_day(store, "Australia/Lord_Howe", date(2026, 4, 5), date(2026, 4, 5))
    october = bytes_per_day(store, "Australia/Lord_Howe", date(2026, 10, 4), date(2026, 10, 4))

    # Then
    assert april == {date(2026, 4, 5): 98}  # 24.5 hours
    assert october == {date(2026, 10, 4): 94}  # 23.5 hours


def test_st_johns_spring_forward_day_has_23_hours(store: Store) -> None:
    # Given Newfoundland (UTC-3:30, -2:30 in summer) springs forward on 8 March 2026
    store.write_usage("b", one_byte_per_window(utc(2026, 3, 6), utc(2026, 3, 11)))

    # When
    days = bytes_per_day(store, "America/St_Johns", date(2026, 3, 7), date(2026, 3, 9))

    # Then
    assert days == {date(2026, 3, 7): 96, date(2026, 3, 8): 92, date(2026, 3, 9): 96}


def test_kathmandu_new_year_starts_at_18_15_utc(store: Store) -> None:
    # Given Kathmandu is UTC+5:45: 18:15 UTC on 31 December is local midnight
    store.write_usage(
        "b",
        [one_record(utc(2026, 12, 31, 18, 0), 1), one_record(utc(2026, 12, 31, 18, 15), 10)],
    )

    # When
    days = bytes_per_day(store, "Asia/Kathmandu", date(2026, 12, 31), date(2027, 1, 1))
    months = store.monthly_usage("Asia/Kathmandu", date(2026, 12, 1), date(2027, 1, 31), None)

    # Then
    assert days == {date(2026, 12, 31): 1, date(2027, 1, 1): 10}
    assert {(t.bucket_start, t.bytes) for t in months} == {
        (date(2026, 12, 1), 1),
        (date(2027, 1, 1), 10),
    }


def test_chatham_29_february_2028_is_counted_on_its_own_day(store: Store) -> None:
    # Given the Chatham Islands are UTC+13:45 in February: 29 Feb 2028 is local from
    # 10:15 UTC on the 28th to 10:15 UTC on the 29th
    store.write_usage(
        "b",
        [
            one_record(utc(2028, 2, 28, 10, 0), 1),
            one_record(utc(2028, 2, 28, 10, 15), 10),
            one_record(utc(2028, 2, 29, 10, 0), 100),
            one_record(utc(2028, 2, 29, 10, 15), 1000),
        ],
    )

    # When
    days = bytes_per_day(store, "Pacific/Chatham", date(2028, 2, 28), date(2028, 3, 1))
    months = store.monthly_usage("Pacific/Chatham", date(2028, 2, 1), date(2028, 3, 1), None)

    # Then
    assert days == {date(2028, 2, 28): 1, date(2028, 2, 29): 110, date(2028, 3, 1): 1000}
    assert {(t.bucket_start, t.bytes) for t in months} == {
        (date(2028, 2, 1), 111),
        (date(2028, 3, 1), 1000),
    }


def test_chatham_winter_offset_is_12_45(store: Store) -> None:
    # Given in July the Chatham Islands are UTC+12:45: local midnight is 11:15 UTC
    store.write_usage(
        "b", [one_record(utc(2026, 7, 1, 11, 0), 1), one_record(utc(2026, 7, 1, 11, 15), 10)]
    )

    # When
    days = bytes_per_day(store, "Pacific/Chatham", date(2026, 7, 1), date(2026, 7, 2))

    # Then
    assert days == {date(2026, 7, 1): 1, date(2026, 7, 2): 10}


def test_the_as_of_month_counts_only_up_to_the_as_of_day(store: Store) -> None:
    # Given usage on 31 January, 15 and 20 February (UTC)
    store.write_usage(
        "b",
        [
            one_record(utc(2026, 1, 31, 23, 45), 1),
            one_record(utc(2026, 2, 15, 23, 45), 10),
            one_record(utc(2026, 2, 20), 100),
        ],
    )

    # When
    months = store.monthly_usage("UTC", date(2025, 9, 1), date(2026, 2, 15), None)

    # Then
    assert sorted(months) == [
        UsageTotal("alice", Direction.INGRESS, date(2026, 1, 1), 1),
        UsageTotal("alice", Direction.INGRESS, date(2026, 2, 1), 10),
    ]


def test_year_end_splits_months_in_the_reporting_zone(store: Store) -> None:
    # Given usage at 23:30 UTC on 31 December, which is already 1 January in Berlin
    store.write_usage("b", [one_record(utc(2026, 12, 31, 23, 30), 5)])

    # When
    in_utc = store.monthly_usage("UTC", date(2026, 12, 1), date(2027, 1, 31), None)
    in_berlin = store.monthly_usage("Europe/Berlin", date(2026, 12, 1), date(2027, 1, 31), None)

    # Then
    assert [(t.bucket_start, t.bytes) for t in in_utc] == [(date(2026, 12, 1), 5)]
    assert [(t.bucket_start, t.bytes) for t in in_berlin] == [(date(2027, 1, 1), 5)]


def test_a_month_range_that_ends_before_it_starts_is_empty(store: Store) -> None:
    # Given
    store.write_usage("b", [one_record(utc(2026, 3, 1), 5)])

    # When
    months = store.monthly_usage("UTC", date(2026, 4, 1), date(2026, 3, 31), None)

    # Then
    assert months == []


def test_zone_built_after_the_writes_equals_zone_kept_during_them(store: Store) -> None:
    # Given Berlin's rollups exist before the writes, St John's are built after them
    store.daily_usage("Europe/Berlin", date(2026, 3, 1), date(2026, 3, 1), None)
    store.write_usage("a", one_byte_per_window(utc(2026, 3, 1), utc(2026, 4, 3)))
    store.write_usage("b", [one_record(utc(2026, 3, 29, 0, 45), 1000)])

    # When
    kept = store.monthly_usage("Europe/Berlin", date(2026, 3, 1), date(2026, 4, 30), None)
    built = store.monthly_usage("America/St_Johns", date(2026, 2, 1), date(2026, 4, 30), None)

    # Then: Berlin's March runs from the first window (01:00 local) to 22:00 UTC on 31 March
    # (midnight CEST): 30 days and 22 hours; April from there to the last window, 50 hours.
    assert {(t.bucket_start, t.bytes) for t in kept} == {
        (date(2026, 3, 1), (30 * 24 + 22) * 4 + 1000),
        (date(2026, 4, 1), 50 * 4),
    }
    # St John's (UTC-3:30, -2:30 from 8 March): February's last 3.5 hours, April from 02:30 UTC
    # on 1 April, 45.5 hours; March the rest of the 33 days.
    assert {(t.bucket_start, t.bytes) for t in built} == {
        (date(2026, 2, 1), 14),
        (date(2026, 3, 1), 33 * 96 - 14 - 182 + 1000),
        (date(2026, 4, 1), 182),
    }
