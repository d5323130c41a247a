from collections import Counter
from dataclasses import replace
from datetime import UTC, date

import pytest

from chargeback.usage import WINDOW_SECONDS, SyntheticUsage, synthetic_day, synthetic_days

SMALL = SyntheticUsage(
    rows=10_000, days=3, service_accounts=50, topics=7, last_day=date(2026, 3, 3)
)


def test_synthetic_usage_has_exactly_the_asked_rows_over_the_asked_days() -> None:
    # When
    days = list(synthetic_days(SMALL))

    # Then
    assert [day for day, _ in days] == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
    assert sum(len(records) for _, records in days) == 10_000
    for day, records in days:
        assert {r.window_start_utc.date() for r in records} == {day}


def test_every_record_is_on_a_window_boundary_within_the_asked_names() -> None:
    # When
    records = synthetic_day(SMALL, 1)

    # Then
    for r in records:
        assert r.window_start_utc.tzinfo is UTC
        assert int(r.window_start_utc.timestamp()) % WINDOW_SECONDS == 0
        assert r.bytes >= 0
    assert len({r.service_account for r in records}) <= 50
    assert len({r.topic for r in records}) <= 7
    assert {r.cluster for r in records} <= {"cluster-1", "cluster-2"}


def test_no_key_repeats_within_a_window() -> None:
    # When
    records = synthetic_day(SMALL, 0)

    # Then
    keys = Counter(
        (r.cluster, r.service_account, r.topic, r.direction, r.window_start_utc) for r in records
    )
    assert max(keys.values()) == 1


def test_the_same_seed_gives_the_same_records_and_another_seed_others() -> None:
    # When
    first = synthetic_day(SMALL, 2)
    again = synthetic_day(SMALL, 2)
    other = synthetic_day(replace(SMALL, seed=2), 2)

    # Then
    assert first == again
    assert first != other


def test_more_rows_than_the_keys_of_a_window_can_hold_are_refused() -> None:
    with pytest.raises(ValueError, match="more than 1 accounts"):
        SyntheticUsage(rows=96 * 9, days=1, service_accounts=1, topics=1)


def test_first_day_counts_back_from_the_last_day() -> None:
    # When
    usage = SyntheticUsage(days=400, last_day=date(2026, 11, 30))

    # Then: 27 Oct 2025 + 365 days = 27 Oct 2026, + 34 days = 30 Nov 2026
    assert usage.first_day == date(2025, 10, 27)
