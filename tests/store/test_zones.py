"""Pure zone arithmetic behind the rollups (no database): offsets, transitions, months."""

from __future__ import annotations

import doctest
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import chargeback.store._zones
from chargeback.store import StoreError
from chargeback.store._zones import (
    day_number,
    day_start,
    load_zone,
    local_day_of,
    month_ends,
    month_number,
    month_start,
    offset_segments,
)


def test_the_examples_in_the_docstrings_hold() -> None:
    # When
    failed, attempted = doctest.testmod(chargeback.store._zones)

    # Then
    assert attempted > 0
    assert failed == 0


def test_lord_howe_half_hour_transition_is_found_to_the_quarter_hour() -> None:
    # Given Lord Howe goes from +10:30 to +11:00 at 02:00 local on 4 October 2026 (15:30 UTC)
    zone = ZoneInfo("Australia/Lord_Howe")
    first_s = int(datetime(2026, 10, 3, tzinfo=UTC).timestamp())
    last_s = int(datetime(2026, 10, 5, tzinfo=UTC).timestamp())

    # When
    segments = offset_segments(zone, first_s, last_s)

    # Then
    change = datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
    assert segments == [(first_s, 37800), (int(change.timestamp()), 39600)]


@given(
    zone_name=st.sampled_from(
        ["Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns", "Europe/Berlin", "UTC"]
    ),
    quarters=st.integers(min_value=0, max_value=4 * 24 * 366 * 3),
)
def test_local_day_agrees_with_astimezone(zone_name: str, quarters: int) -> None:
    # Given
    zone = ZoneInfo(zone_name)
    instant = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * quarters)

    # When
    day = day_start(local_day_of(zone, int(instant.timestamp())))

    # Then
    assert day == instant.astimezone(zone).date()


@given(
    zone_name=st.sampled_from(["Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham"]),
    first_hours=st.integers(min_value=0, max_value=24 * 365),
    span_hours=st.integers(min_value=0, max_value=24 * 400),
)
def test_offset_segments_give_every_quarter_hour_its_offset(
    zone_name: str, first_hours: int, span_hours: int
) -> None:
    # Given
    zone = ZoneInfo(zone_name)
    first_s = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) + 3600 * first_hours
    last_s = first_s + 3600 * span_hours

    # When
    segments = offset_segments(zone, first_s, last_s)

    # Then every transition inside the span is where the offset really changes
    for start_s, offset_s in segments[1:]:
        before = datetime.fromtimestamp(start_s - 900, tz=zone).utcoffset()
        after = datetime.fromtimestamp(start_s, tz=zone).utcoffset()
        assert after == timedelta(seconds=offset_s) != before
    assert len(segments) <= 2 + span_hours // (24 * 150)


def test_month_ends_cover_every_month_of_a_day_range_including_29_february() -> None:
    # When
    ends = month_ends(day_number(date(2028, 1, 31)), day_number(date(2028, 3, 1)))

    # Then
    assert [(day_start(end), month_start(month)) for end, month in ends] == [
        (date(2028, 2, 1), date(2028, 1, 1)),
        (date(2028, 3, 1), date(2028, 2, 1)),
        (date(2028, 4, 1), date(2028, 3, 1)),
    ]
    assert month_number(date(2028, 2, 29)) == 2028 * 12 + 1


def test_an_unknown_zone_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"^unknown time zone 'Europe/Atlantis': use an IANA"):
        load_zone("Europe/Atlantis")
