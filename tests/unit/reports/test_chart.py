"""The chart of a report: the largest accounts by total, the rest summed exactly into "Other"."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chargeback.pricing import PriceSettings
from chargeback.reports import (
    Bucket,
    ChartSeries,
    Metric,
    PeriodName,
    Report,
    ReportError,
    ReportQuery,
    ReportRow,
    SortOrder,
    Tab,
    build_report,
    chart_series,
)
from chargeback.usage import Direction
from tests.unit.reports.fakes import record, source_of, utc

AS_OF = date(2026, 3, 10)


def report_of(rows: list[ReportRow], unit: str = "bytes") -> Report:
    """A report holding `rows` as given (the chart must not care about their order)."""
    buckets = tuple(
        Bucket(f"2026-03-{day:02}", date(2026, 3, day), date(2026, 3, day))
        for day in range(11 - len(rows[0].cells), 11)
    )
    return Report(
        query=ReportQuery(Tab.INGRESS, PeriodName.LAST_7_DAYS, AS_OF),
        first_day=buckets[0].first_day,
        last_day=buckets[-1].last_day,
        buckets=buckets,
        rows=tuple(rows),
        column_totals=(),
        grand_total=0,
        unit=unit,
        prices=PriceSettings(),
    )


def test_other_adds_up_the_folded_accounts_bytes_as_integers() -> None:
    # Given
    report = report_of(
        [
            ReportRow("a", (5, 1), 6),
            ReportRow("b", (2, 2), 4),
            ReportRow("c", (1, 0), 1),
            ReportRow("d", (0, 3), 3),
        ]
    )
    # When
    series = chart_series(report, accounts=2)
    # Then: c and d, the two smallest totals, fold into Other
    assert series == (
        ChartSeries("a", (5, 1)),
        ChartSeries("b", (2, 2)),
        ChartSeries("Other", (1, 3), is_other=True),
    )
    assert all(type(value) is int for value in series[2].values)


def test_the_largest_accounts_come_first_whatever_the_tables_sort() -> None:
    # Given rows in name order, two of them tied on total
    report = report_of(
        [
            ReportRow("alpha", (1,), 1),
            ReportRow("Beta", (7,), 7),
            ReportRow("beta", (7,), 7),
            ReportRow("gamma", (9,), 9),
        ]
    )
    # When
    series = chart_series(report, accounts=3)
    # Then: by total descending; the tie by name, case-insensitively, then exactly
    assert [s.name for s in series] == ["gamma", "Beta", "beta", "Other"]
    assert series[-1].values == (1,)


def test_other_stays_exact_beyond_the_default_decimal_precision() -> None:
    # Given costs with 40 significant digits (as the binary GB unit produces)
    tiny = Decimal("0.000000000000000000000000000000931322574615478515625")
    big = Decimal("123456789.123456789")
    report = report_of(
        [ReportRow("a", (big,), big), ReportRow("b", (big,), big), ReportRow("c", (tiny,), tiny)],
        unit="USD",
    )
    # When
    series = chart_series(report, accounts=1)
    # Then: 9 decimals of `big`, then `tiny`'s 30 leading zeros less those 9, then its digits
    assert format(series[1].values[0], "f") == (
        "123456789.123456789" + "0" * 21 + "931322574615478515625"
    )


def test_a_percentage_view_folds_the_smaller_shares_into_other() -> None:
    # Given four consumers sharing 100 bytes on one day: 50, 25, 15 and 10 of them
    consumed = {"w": 50, "x": 25, "y": 15, "z": 10}
    source = source_of(
        [record(name, Direction.EGRESS, utc(2026, 3, 10, 9), n) for name, n in consumed.items()]
    )
    query = ReportQuery(
        Tab.EGRESS,
        PeriodName.LAST_7_DAYS,
        AS_OF,
        metric=Metric.PERCENTAGE,
        sort=SortOrder("service_account", descending=False),
    )
    # When
    series = chart_series(build_report(source, query), accounts=2)
    # Then: w and x on their own, y + z = 25 % in Other, on the as-of day only
    assert [(s.name, s.values[-1]) for s in series] == [
        ("w", Decimal(50)),
        ("x", Decimal(25)),
        ("Other", Decimal(25)),
    ]
    assert series[-1].values[:-1] == (Decimal(0),) * 6


def test_no_other_series_when_every_account_fits() -> None:
    # When
    series = chart_series(report_of([ReportRow("a", (1,), 1)]), accounts=8)
    # Then
    assert series == (ChartSeries("a", (1,)),)


def test_a_negative_number_of_chart_accounts_is_refused_by_name() -> None:
    # When
    with pytest.raises(ReportError, match="chart accounts -1 is negative"):
        chart_series(report_of([ReportRow("a", (1,), 1)]), accounts=-1)
