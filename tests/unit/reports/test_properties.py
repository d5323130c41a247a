"""Invariants of the engine and the export, over generated usage (hypothesis)."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal, localcontext
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from chargeback.pricing import GbUnit, PriceSettings
from chargeback.reports import (
    Metric,
    PeriodName,
    ReportQuery,
    SortOrder,
    Tab,
    build_report,
    to_csv,
)
from chargeback.usage import Direction, UsageRecord
from tests.unit.reports.fakes import record, source_of, utc

AS_OF = date(2026, 3, 10)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Pacific/Chatham",
         "Asia/Kolkata", "Australia/Lord_Howe"]  # fmt: skip
NAMES = ["a", "A", "b", "team, x", 'q"uote', "Zürich", "=1+1", "-x", "@y", "\tz", "\rw"]
QUARTER_HOURS_IN_SPAN = 400 * 96  # from 2025-02-01, past the widest period and the as-of day

records_strategy = st.lists(
    st.builds(
        lambda name, direction, quarter, byte_count: record(
            name, direction, utc(2025, 2, 1) + timedelta(minutes=15 * quarter), byte_count
        ),
        st.sampled_from(NAMES),
        st.sampled_from(Direction),
        st.integers(0, QUARTER_HOURS_IN_SPAN - 1),
        st.integers(0, 10**13),
    ),
    max_size=40,
)
prices_strategy = st.builds(
    PriceSettings,
    ingress_per_gb=st.decimals(0, 1000, places=8),
    egress_per_gb=st.decimals(0, 1000, places=8),
    gb_unit=st.sampled_from(GbUnit),
)
views = st.sampled_from(
    [(Tab.OVERALL, Metric.COST), (Tab.INGRESS, Metric.COST), (Tab.INGRESS, Metric.BYTES),
     (Tab.EGRESS, Metric.COST), (Tab.EGRESS, Metric.BYTES)]
)  # fmt: skip


def in_period(usage: UsageRecord, zone: str, first_day: date, last_day: date) -> bool:
    local_day = usage.window_start_utc.astimezone(ZoneInfo(zone)).date()
    return first_day <= local_day <= last_day


@settings(max_examples=60, deadline=None)
@given(records=records_strategy, period=st.sampled_from(PeriodName), zone=st.sampled_from(ZONES))
def test_every_byte_of_the_period_lands_in_exactly_one_bucket(
    records: list[UsageRecord], period: PeriodName, zone: str
) -> None:
    # Given
    query = ReportQuery(Tab.INGRESS, period, AS_OF, Metric.BYTES, zone=zone)

    # When
    report = build_report(source_of(records), query)

    # Then: the raw bytes of each local day in the period, in the bucket that holds that day
    for index, bucket in enumerate(report.buckets):
        expected = sum(
            r.bytes
            for r in records
            if r.direction is Direction.INGRESS
            and in_period(r, zone, bucket.first_day, bucket.last_day)
        )
        assert report.column_totals[index] == expected
    assert report.grand_total == sum(
        r.bytes for r in records
        if r.direction is Direction.INGRESS and in_period(r, zone, report.first_day, AS_OF)
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    records=records_strategy, prices=prices_strategy, view=views, period=st.sampled_from(PeriodName)
)
def test_buckets_sum_to_the_row_total_and_columns_to_the_grand_total(
    records: list[UsageRecord], prices: PriceSettings, view: tuple[Tab, Metric], period: PeriodName
) -> None:
    # Given
    tab, metric = view

    # When
    report = build_report(source_of(records, prices), ReportQuery(tab, period, AS_OF, metric))

    # Then: exact equality (binary-GB costs need more than the default 28 digits)
    with localcontext(prec=200):
        for row in report.rows:
            assert sum(row.cells, Decimal(0)) == row.total
        assert sum(report.column_totals, Decimal(0)) == report.grand_total
        assert sum((row.total for row in report.rows), Decimal(0)) == report.grand_total


@settings(max_examples=60, deadline=None)
@given(records=records_strategy, prices=prices_strategy, tab=st.sampled_from(Tab))
def test_percentages_of_each_bucket_with_usage_sum_to_one_hundred(
    records: list[UsageRecord], prices: PriceSettings, tab: Tab
) -> None:
    # When
    report = build_report(
        source_of(records, prices),
        ReportQuery(tab, PeriodName.LAST_12_MONTHS, AS_OF, Metric.PERCENTAGE),
    )

    # Then
    for bucket_total in [*report.column_totals, report.grand_total]:
        assert bucket_total == 0 or abs(Decimal(bucket_total) - 100) < Decimal("1e-20")


@settings(max_examples=60, deadline=None)
@given(
    records=records_strategy,
    prices=prices_strategy,
    tab=st.sampled_from(Tab),
    filter_text=st.sampled_from(["", "a", "Z", "x"]),
)
def test_the_export_equals_the_table(
    records: list[UsageRecord], prices: PriceSettings, tab: Tab, filter_text: str
) -> None:
    # Given the table in the metric the export carries
    metric = Metric.COST if tab is Tab.OVERALL else Metric.BYTES
    query = ReportQuery(tab, PeriodName.LAST_30_DAYS, AS_OF, metric, filter_text=filter_text)
    report = build_report(source_of(records, prices), query)

    # When
    parsed = list(csv.reader(io.StringIO(to_csv(report).content.decode("utf-8"), newline="")))

    # Then: same rows in the same order; numbers equal to the table's within output rounding
    assert parsed[0] == ["Service account", *(b.label for b in report.buckets), "Total"]
    assert len(parsed) == len(report.rows) + 1
    for line, row in zip(parsed[1:], report.rows, strict=True):
        assert line[0].removeprefix("'") == row.service_account
        assert line[0].startswith("'") == row.service_account.startswith(
            ("=", "+", "-", "@", "\t", "\r")
        )
        for text, value in zip(line[1:], [*row.cells, row.total], strict=True):
            if metric is Metric.BYTES:
                assert text == str(value)
            else:
                assert abs(Decimal(text) - value) <= Decimal("0.0000005")
                assert len(text.partition(".")[2]) == 6


@settings(max_examples=60, deadline=None)
@given(
    records=records_strategy,
    descending=st.booleans(),
    column=st.sampled_from(["total", "2026-03-09"]),
)
def test_rows_are_ordered_by_the_column_then_by_name_ascending(
    records: list[UsageRecord], descending: bool, column: str
) -> None:
    # Given
    query = ReportQuery(
        Tab.EGRESS, PeriodName.LAST_7_DAYS, AS_OF, Metric.BYTES, sort=SortOrder(column, descending)
    )

    # When
    report = build_report(source_of(records), query)

    # Then
    index = 5 if column == "2026-03-09" else None
    for earlier, later in pairwise(report.rows):
        a = earlier.total if index is None else earlier.cells[index]
        b = later.total if index is None else later.cells[index]
        assert (a > b if descending else a < b) or (
            a == b
            and (earlier.service_account.casefold(), earlier.service_account)
            < (later.service_account.casefold(), later.service_account)
        )
