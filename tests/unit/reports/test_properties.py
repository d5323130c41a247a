"""Invariants of the engine and the export, over generated usage (hypothesis)."""

import csv
import io
import math
from datetime import date, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
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
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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

    # Then: a total is the share of the whole, so exactly 100; the rounded cells come within
    # half a millionth of a percent per row of it
    for index, bucket_total in enumerate([*report.column_totals, report.grand_total]):
        assert bucket_total in (0, 100)
        cells = [(*row.cells, row.total)[index] for row in report.rows]
        assert abs(sum(cells, Decimal(0)) - bucket_total) <= Decimal("0.0000005") * len(cells)


def half_up_share(part: int, whole: int) -> Decimal:
    """100 * part / whole to 6 places, halves up, in integers (no decimal context at all)."""
    if whole == 0:
        return Decimal(0)
    millionths = Fraction(100 * 10**6 * part, whole)
    return Decimal(math.floor(millionths + Fraction(1, 2))).scaleb(-6)


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(
        st.builds(
            lambda name, day, byte_count: record(
                name, Direction.EGRESS, utc(2026, 3, 4) + timedelta(days=day), byte_count
            ),
            st.sampled_from(NAMES),
            st.integers(0, 6),
            st.integers(0, 10**30),
        ),
        max_size=30,
    ),
    filter_text=st.sampled_from(["", "a", "Z", "x"]),
)
def test_every_percentage_is_the_exact_share_rounded_half_up_to_six_places(
    records: list[UsageRecord], filter_text: str
) -> None:
    # Given the bytes of each account and day, from the raw records
    days = [AS_OF - timedelta(days=6 - n) for n in range(7)]
    parts = {
        (name, day): sum(
            r.bytes
            for r in records
            if r.service_account == name and r.window_start_utc.date() == day
        )
        for name in NAMES
        for day in days
    }
    day_wholes = [sum(parts[(name, day)] for name in NAMES) for day in days]

    # When
    report = build_report(
        source_of(records),
        ReportQuery(Tab.EGRESS, PeriodName.LAST_7_DAYS, AS_OF, Metric.PERCENTAGE,
                    filter_text=filter_text),
    )  # fmt: skip

    # Then
    for row in report.rows:
        mine = [parts[(row.service_account, day)] for day in days]
        assert list(row.cells) == [
            half_up_share(part, whole) for part, whole in zip(mine, day_wholes, strict=True)
        ]
        assert row.total == half_up_share(sum(mine), sum(day_wholes))
    shown = {row.service_account for row in report.rows}
    shown_parts = [sum(parts[(name, day)] for name in shown) for day in days]
    assert list(report.column_totals) == [
        half_up_share(part, whole) for part, whole in zip(shown_parts, day_wholes, strict=True)
    ]
    assert report.grand_total == half_up_share(sum(shown_parts), sum(day_wholes))


every_view = st.sampled_from(
    [(tab, metric) for tab in Tab for metric in Metric
     if not (tab is Tab.OVERALL and metric is Metric.BYTES)]
)  # fmt: skip
sorts = st.builds(
    SortOrder,
    st.sampled_from(["total", "service_account", "2026-03-09", "2026-02-20"]),
    st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(
    records=records_strategy,
    prices=prices_strategy,
    view=every_view,
    filter_text=st.sampled_from(["", "a", "Z", "x"]),
    sort=sorts,
)
def test_the_export_equals_the_table_in_the_exported_metric(
    records: list[UsageRecord],
    prices: PriceSettings,
    view: tuple[Tab, Metric],
    filter_text: str,
    sort: SortOrder,
) -> None:
    # Given the view, and the table of the same selection in the metric the CSV carries
    tab, metric = view
    exported_metric = Metric.COST if tab is Tab.OVERALL else Metric.BYTES
    source = source_of(records, prices)
    shown = build_report(
        source,
        ReportQuery(tab, PeriodName.LAST_30_DAYS, AS_OF, metric, filter_text=filter_text,
                    sort=sort),
    )  # fmt: skip
    table = build_report(
        source,
        ReportQuery(tab, PeriodName.LAST_30_DAYS, AS_OF, exported_metric,
                    filter_text=filter_text, sort=sort),
    )  # fmt: skip

    # When
    parsed = list(csv.reader(io.StringIO(to_csv(shown).content.decode("utf-8"), newline="")))

    # Then: the view's rows in the view's order (spec 5: "in its sort order"; a percentage or
    # a zero price can tie rows that bytes would order), each with the exported table's values
    assert parsed[0] == ["Service account", *(b.label for b in table.buckets), "Total"]
    assert [line[0] for line in parsed[1:]] == [
        "'" + row.service_account if row.service_account.startswith(FORMULA_STARTS)
        else row.service_account
        for row in shown.rows
    ]  # fmt: skip
    assert sorted(row.service_account for row in shown.rows) == sorted(
        row.service_account for row in table.rows
    )
    values = {row.service_account: [*row.cells, row.total] for row in table.rows}
    for line, row in zip(parsed[1:], shown.rows, strict=True):
        for text, value in zip(line[1:], values[row.service_account], strict=True):
            if exported_metric is Metric.BYTES:
                assert text == str(value)
            else:
                assert abs(Decimal(text) - value) <= Decimal("0.0000005")
                assert len(text.partition(".")[2]) == 6
    if sort.column == "service_account" or metric is exported_metric:
        assert [row.service_account for row in shown.rows] == [
            row.service_account for row in table.rows
        ]


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
