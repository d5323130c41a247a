from datetime import date
from decimal import Decimal

import pytest

from chargeback.pricing import GbUnit, PriceSettings
from chargeback.reports import (
    Metric,
    PeriodName,
    ReportError,
    ReportQuery,
    SortOrder,
    Tab,
    build_report,
)
from chargeback.usage import Direction
from tests.unit.reports.fakes import record, source_of, utc

IN, OUT = Direction.INGRESS, Direction.EGRESS
PRICES = PriceSettings(ingress_per_gb=Decimal("0.10"), egress_per_gb=Decimal("0.05"))
AS_OF = date(2026, 3, 10)


def query(tab: Tab = Tab.OVERALL, metric: Metric = Metric.COST, **changes: object) -> ReportQuery:
    fields: dict[str, object] = {"tab": tab, "period": PeriodName.LAST_7_DAYS, "as_of": AS_OF}
    fields.update(changes)
    return ReportQuery(metric=metric, **fields)  # type: ignore[arg-type]


def test_overall_cost_adds_ingress_and_egress_cost_per_day() -> None:
    # Given 1.5 GB produced on 9 March and 2 GB consumed on 10 March
    source = source_of(
        [
            record("billing", IN, utc(2026, 3, 9, 12), 1_500_000_000),
            record("billing", OUT, utc(2026, 3, 10, 8), 2_000_000_000),
        ],
        PRICES,
    )

    # When
    report = build_report(source, query())

    # Then: 1.5 × 0.10 = 0.15 and 2 × 0.05 = 0.10
    (row,) = report.rows
    assert row.service_account == "billing"
    assert row.cells == (0, 0, 0, 0, 0, Decimal("0.15"), Decimal("0.10"))
    assert row.total == Decimal("0.25")
    assert report.grand_total == Decimal("0.25")
    assert report.unit == "USD"
    assert (report.first_day, report.last_day) == (date(2026, 3, 4), AS_OF)


def test_costs_in_binary_gigabytes_stay_exact_in_every_total() -> None:
    # Given one byte each for three accounts at 1 per GiB: 1/2**30 has 21 significant digits
    prices = PriceSettings(ingress_per_gb=Decimal("1"), gb_unit=GbUnit.BINARY)
    one_byte_cost = Decimal(1) / Decimal(2**30)  # exact: 2**30 divides a power of ten
    source = source_of([record(f"sa{i}", IN, utc(2026, 3, 10), 1) for i in range(3)], prices)

    # When
    report = build_report(source, query(Tab.INGRESS))

    # Then
    assert one_byte_cost == Decimal("9.31322574615478515625E-10")
    assert [row.total for row in report.rows] == [one_byte_cost] * 3
    assert report.grand_total == Decimal("2.793967723846435546875E-9")


def test_ingress_tab_lists_only_accounts_that_produced() -> None:
    # Given
    source = source_of(
        [
            record("producer", IN, utc(2026, 3, 10), 10),
            record("consumer", OUT, utc(2026, 3, 10), 20),
        ]
    )

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.BYTES))

    # Then
    assert [row.service_account for row in report.rows] == ["producer"]
    assert report.grand_total == 10
    assert report.unit == "bytes"


def test_percentage_is_a_share_of_the_bucket_and_the_total_a_share_of_the_period() -> None:
    # Given: on 9 March a=1, b=3; on 10 March a=4, b=0
    source = source_of(
        [
            record("a", IN, utc(2026, 3, 9), 1),
            record("b", IN, utc(2026, 3, 9), 3),
            record("a", IN, utc(2026, 3, 10), 4),
        ]
    )

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.PERCENTAGE))

    # Then: a has 25 % and 100 % of the days, 5/8 = 62.5 % of the period
    rows = {row.service_account: row for row in report.rows}
    assert rows["a"].cells[-2:] == (Decimal(25), Decimal(100))
    assert rows["b"].cells[-2:] == (Decimal(75), Decimal(0))
    assert rows["a"].total == Decimal("62.5")
    assert rows["b"].total == Decimal("37.5")
    assert report.unit == "percent"


def test_percentage_stays_a_share_of_the_whole_tab_when_filtered() -> None:
    # Given
    source = source_of([record("a", IN, utc(2026, 3, 9), 1), record("b", IN, utc(2026, 3, 9), 3)])

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.PERCENTAGE, filter_text="B"))

    # Then
    (row,) = report.rows
    assert row.total == Decimal(75)
    assert report.grand_total == Decimal(75)


def test_overall_percentage_is_a_share_of_cost() -> None:
    # Given: a produced 1 GB (0.10), b consumed 1 GB (0.05)
    source = source_of(
        [
            record("a", IN, utc(2026, 3, 10), 10**9),
            record("b", OUT, utc(2026, 3, 10), 10**9),
        ],
        PRICES,
    )

    # When
    report = build_report(source, query(Tab.OVERALL, Metric.PERCENTAGE))

    # Then: 0.10 of 0.15 and 0.05 of 0.15, to 6 places; the whole is exactly 100
    totals = {row.service_account: row.total for row in report.rows}
    assert totals == {"a": Decimal("66.666667"), "b": Decimal("33.333333")}
    assert report.grand_total == 100
    assert report.column_totals[-1] == 100


def test_a_bucket_without_usage_shows_zero_percent() -> None:
    # Given
    source = source_of([record("a", IN, utc(2026, 3, 10), 5)])

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.PERCENTAGE))

    # Then
    assert report.rows[0].cells == (0, 0, 0, 0, 0, 0, Decimal(100))


def test_default_order_is_total_descending_with_ties_by_name_case_insensitive_then_exact() -> None:
    # Given three accounts with the same total and one larger
    source = source_of(
        [record(name, IN, utc(2026, 3, 10), 5) for name in ("beta", "Alpha", "alpha")]
        + [record("zeta", IN, utc(2026, 3, 10), 9)]
    )

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.BYTES))

    # Then
    assert [row.service_account for row in report.rows] == ["zeta", "Alpha", "alpha", "beta"]


def test_ascending_sort_by_a_day_keeps_ties_by_name_ascending() -> None:
    # Given
    source = source_of(
        [
            record("c", IN, utc(2026, 3, 9), 1),
            record("b", IN, utc(2026, 3, 9), 2),
            record("a", IN, utc(2026, 3, 9), 2),
            record("d", IN, utc(2026, 3, 10), 7),
        ]
    )
    sort = SortOrder(column="2026-03-09", descending=False)

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.BYTES, sort=sort))

    # Then: d has 0 on 9 March
    assert [row.service_account for row in report.rows] == ["d", "c", "a", "b"]


def test_descending_sort_keeps_ties_by_name_ascending() -> None:
    # Given
    source = source_of(
        [record(n, IN, utc(2026, 3, 9), b) for n, b in (("b", 2), ("a", 2), ("c", 1))]
    )

    # When
    report = build_report(
        source, query(Tab.INGRESS, Metric.BYTES, sort=SortOrder("2026-03-09", descending=True))
    )

    # Then
    assert [row.service_account for row in report.rows] == ["a", "b", "c"]


def test_sort_by_service_account_descending_reverses_the_name_order() -> None:
    # Given
    source = source_of([record(n, IN, utc(2026, 3, 9), 1) for n in ("b", "A", "a", "C")])

    # When
    report = build_report(source, query(Tab.INGRESS, sort=SortOrder("service_account", True)))

    # Then
    assert [row.service_account for row in report.rows] == ["C", "b", "a", "A"]


def test_filter_keeps_case_insensitive_substring_matches_and_totals_only_those() -> None:
    # Given
    source = source_of(
        [
            record("Team-Payments", IN, utc(2026, 3, 9), 1),
            record("payments-batch", IN, utc(2026, 3, 9), 2),
            record("search", IN, utc(2026, 3, 9), 4),
        ]
    )

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.BYTES, filter_text="PAYMENT"))

    # Then
    assert [row.service_account for row in report.rows] == ["payments-batch", "Team-Payments"]
    assert report.grand_total == 3
    assert report.column_totals[-2] == 3


def test_cluster_selection_counts_only_that_cluster_and_default_sums_all() -> None:
    # Given
    records = [
        record("a", IN, utc(2026, 3, 9), 1, cluster="east"),
        record("a", IN, utc(2026, 3, 9), 10, cluster="west"),
    ]

    # When
    west = build_report(source_of(records), query(Tab.INGRESS, Metric.BYTES, cluster="west"))
    every = build_report(source_of(records), query(Tab.INGRESS, Metric.BYTES))

    # Then
    assert west.grand_total == 10
    assert every.grand_total == 11


def test_monthly_periods_ask_the_store_for_months_in_the_query_zone() -> None:
    # Given
    source = source_of([])

    # When
    build_report(source, query(period=PeriodName.LAST_6_MONTHS, zone="Asia/Kathmandu"))

    # Then
    assert source.calls == [("monthly", "Asia/Kathmandu", date(2025, 10, 1), AS_OF, None)]


def test_an_empty_period_gives_no_rows_and_zero_totals_of_the_metric_type() -> None:
    # When
    cost = build_report(source_of([]), query())
    byte_view = build_report(source_of([]), query(Tab.EGRESS, Metric.BYTES))

    # Then
    assert cost.rows == ()
    assert isinstance(cost.grand_total, Decimal)
    assert cost.column_totals == (Decimal(0),) * 7
    assert byte_view.grand_total == 0
    assert isinstance(byte_view.grand_total, int)


def test_prices_default_to_the_stored_prices_and_explicit_prices_win() -> None:
    # Given
    source = source_of([record("a", IN, utc(2026, 3, 9), 10**9)], PRICES)
    other = PriceSettings(ingress_per_gb=Decimal("2"), currency="EUR")

    # When
    stored = build_report(source, query())
    explicit = build_report(source, query(), prices=other)

    # Then
    assert (stored.grand_total, stored.unit) == (Decimal("0.10"), "USD")
    assert (explicit.grand_total, explicit.unit) == (Decimal("2"), "EUR")


def test_export_rows_carry_bytes_for_a_percentage_view_in_the_same_order() -> None:
    # Given
    source = source_of([record("a", IN, utc(2026, 3, 9), 1), record("b", IN, utc(2026, 3, 9), 3)])

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.PERCENTAGE))

    # Then
    assert report.export_rows is not None
    assert [(r.service_account, r.total) for r in report.export_rows] == [("b", 3), ("a", 1)]


def test_export_rows_are_not_duplicated_when_the_view_already_shows_the_export_metric() -> None:
    # When
    report = build_report(
        source_of([record("a", OUT, utc(2026, 3, 9), 1)]), query(Tab.EGRESS, Metric.BYTES)
    )

    # Then
    assert report.export_rows is None


def test_bytes_on_the_overall_tab_are_refused() -> None:
    with pytest.raises(ReportError, match="'bytes' is not offered on the overall tab"):
        build_report(source_of([]), query(Tab.OVERALL, Metric.BYTES))


def test_a_sort_column_outside_the_period_is_refused() -> None:
    with pytest.raises(ReportError, match="unknown sort column '2026-03-11'"):
        build_report(source_of([]), query(sort=SortOrder("2026-03-11")))


def test_a_share_half_way_between_millionths_of_a_percent_rounds_up() -> None:
    # Given 1 byte of 200,000,000: exactly 0.0000005 %; the rest exactly 99.9999995 %
    source = source_of(
        [record("a", IN, utc(2026, 3, 10), 1), record("b", IN, utc(2026, 3, 10), 199_999_999)]
    )

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.PERCENTAGE))

    # Then: each share rounded once, half-up; the column's total is its whole, 100
    shares = {row.service_account: row.cells[-1] for row in report.rows}
    assert shares == {"a": Decimal("0.000001"), "b": Decimal("100.000000")}
    assert report.column_totals[-1] == Decimal(100)


def test_a_share_just_below_half_way_rounds_down_however_many_digits_it_takes_to_see() -> None:
    # Given a share of 0.0000005 % less 10**-38 %: 28 significant digits round it to half-way
    part = 5 * 10**31 - 1
    source = source_of(
        [record("a", IN, utc(2026, 3, 10), part), record("b", IN, utc(2026, 3, 10), 10**40 - part)]
    )

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.PERCENTAGE))

    # Then
    shares = {row.service_account: row.total for row in report.rows}
    assert shares["a"] == Decimal("0.000000")


def test_a_filtered_percentage_total_is_the_share_of_the_rows_shown() -> None:
    # Given three accounts of 1, 1 and 1 bytes: a third each
    source = source_of([record(name, IN, utc(2026, 3, 10), 1) for name in ("ax", "bx", "c")])

    # When
    report = build_report(source, query(Tab.INGRESS, Metric.PERCENTAGE, filter_text="x"))

    # Then: 2/3 of the whole, not 33.333333 + 33.333333
    assert [row.total for row in report.rows] == [Decimal("33.333333")] * 2
    assert report.grand_total == Decimal("66.666667")
    assert report.column_totals[-1] == Decimal("66.666667")
