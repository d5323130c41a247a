from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargeback.reports import Bucket, PeriodName, period_buckets

AS_OF_DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


def test_seven_days_end_on_the_as_of_date_and_cross_the_year_end() -> None:
    # Given
    as_of = date(2027, 1, 2)

    # When
    buckets = period_buckets(PeriodName.LAST_7_DAYS, as_of)

    # Then
    assert [b.label for b in buckets] == [
        "2026-12-27",
        "2026-12-28",
        "2026-12-29",
        "2026-12-30",
        "2026-12-31",
        "2027-01-01",
        "2027-01-02",
    ]
    assert all(b.first_day == b.last_day for b in buckets)


def test_thirty_days_include_29_february_of_a_leap_year() -> None:
    # Given
    as_of = date(2028, 3, 15)

    # When
    buckets = period_buckets(PeriodName.LAST_30_DAYS, as_of)

    # Then: 15 March back 29 days is 15 February (2028 has a 29 February)
    assert buckets[0].first_day == date(2028, 2, 15)
    assert "2028-02-29" in [b.label for b in buckets]
    assert len(buckets) == 30


def test_six_months_end_with_the_as_of_month_cut_at_the_as_of_date() -> None:
    # Given
    as_of = date(2026, 3, 10)

    # When
    buckets = period_buckets(PeriodName.LAST_6_MONTHS, as_of)

    # Then
    assert buckets == (
        Bucket("2025-10", date(2025, 10, 1), date(2025, 10, 31)),
        Bucket("2025-11", date(2025, 11, 1), date(2025, 11, 30)),
        Bucket("2025-12", date(2025, 12, 1), date(2025, 12, 31)),
        Bucket("2026-01", date(2026, 1, 1), date(2026, 1, 31)),
        Bucket("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        Bucket("2026-03", date(2026, 3, 1), date(2026, 3, 10)),
    )


def test_twelve_months_start_on_the_first_of_the_month_eleven_months_back() -> None:
    # Given
    as_of = date(2028, 2, 29)

    # When
    buckets = period_buckets(PeriodName.LAST_12_MONTHS, as_of)

    # Then
    assert buckets[0] == Bucket("2027-03", date(2027, 3, 1), date(2027, 3, 31))
    assert buckets[-1] == Bucket("2028-02", date(2028, 2, 1), date(2028, 2, 29))
    assert len(buckets) == 12


@pytest.mark.parametrize(
    ("as_of", "labels"),
    [
        (date(2026, 1, 1), ["2026-01"]),
        (date(2026, 4, 30), ["2026-01", "2026-02", "2026-03", "2026-04"]),
    ],
)
def test_year_to_date_has_one_bucket_per_month_up_to_the_as_of_month(
    as_of: date, labels: list[str]
) -> None:
    # When
    buckets = period_buckets(PeriodName.YEAR_TO_DATE, as_of)

    # Then
    assert [b.label for b in buckets] == labels
    assert buckets[0].first_day == date(as_of.year, 1, 1)
    assert buckets[-1].last_day == as_of


@given(period=st.sampled_from(PeriodName), as_of=AS_OF_DATES)
def test_buckets_tile_the_period_without_gap_or_overlap(period: PeriodName, as_of: date) -> None:
    # When
    buckets = period_buckets(period, as_of)

    # Then: each bucket starts the day after the previous one ends, and the last ends on D
    for earlier, later in pairwise(buckets):
        assert later.first_day == earlier.last_day + timedelta(days=1)
    assert buckets[-1].last_day == as_of
    assert all(b.first_day <= b.last_day for b in buckets)


@given(as_of=AS_OF_DATES)
def test_monthly_buckets_are_whole_calendar_months_but_the_last(as_of: date) -> None:
    # When
    buckets = period_buckets(PeriodName.LAST_12_MONTHS, as_of)

    # Then
    for bucket in buckets:
        assert bucket.first_day.day == 1
        assert bucket.label == f"{bucket.first_day.year:04d}-{bucket.first_day.month:02d}"
    for bucket in buckets[:-1]:
        assert (bucket.last_day + timedelta(days=1)).day == 1


@pytest.mark.parametrize(
    ("period", "as_of", "labels"),
    [
        (PeriodName.YEAR_TO_DATE, date(2, 3, 5), ["0002-01", "0002-02", "0002-03"]),
        (PeriodName.LAST_6_MONTHS, date(2, 2, 1), ["0001-09", "0001-10", "0001-11", "0001-12",
                                                   "0002-01", "0002-02"]),
        (PeriodName.LAST_7_DAYS, date(999, 1, 2), ["0998-12-27", "0998-12-28", "0998-12-29",
                                                   "0998-12-30", "0998-12-31", "0999-01-01",
                                                   "0999-01-02"]),
    ],
)  # fmt: skip
def test_labels_of_years_before_1000_have_four_digits(
    period: PeriodName, as_of: date, labels: list[str]
) -> None:
    assert [bucket.label for bucket in period_buckets(period, as_of)] == labels
