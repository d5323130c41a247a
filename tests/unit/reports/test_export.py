from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from chargeback.pricing import PriceSettings
from chargeback.reports import Metric, PeriodName, ReportQuery, Tab, build_report, to_csv
from chargeback.usage import Direction
from tests.unit.reports.fakes import record, source_of, utc

IN, OUT = Direction.INGRESS, Direction.EGRESS
GOLDEN = Path(__file__).parents[2] / "data" / "reports"
PRICES = PriceSettings(ingress_per_gb=Decimal("0.10"), egress_per_gb=Decimal("0.05"))


def test_overall_cost_export_matches_the_golden_file_byte_for_byte() -> None:
    # Given names with commas, quotes, unicode and formula starts; costs that round half-up
    source = source_of(
        [
            record('team, "payments"', OUT, utc(2026, 3, 9), 3 * 10**9),
            record('=HYPERLINK("x")', IN, utc(2026, 3, 10), 10**9),
            record("Zürich-α", IN, utc(2026, 3, 4), 1),
            record("Zürich-α", OUT, utc(2026, 3, 4), 5_000_000),
            record("+plus", IN, utc(2026, 3, 6), 15_000),  # 0.0000015 -> 0.000002
            record("-minus", IN, utc(2026, 3, 5), 5_000),  # 0.0000005 -> 0.000001
            record("\tTab", OUT, utc(2026, 3, 8), 10),
            record("\rcr", OUT, utc(2026, 3, 8), 2),
            record("@at", OUT, utc(2026, 3, 8), 1),
        ],
        PRICES,
    )
    report = build_report(
        source, ReportQuery(Tab.OVERALL, PeriodName.LAST_7_DAYS, date(2026, 3, 10))
    )

    # When
    export = to_csv(report)

    # Then
    golden = GOLDEN / "Chargeback_2026-03-04_2026-03-10_OverallCost.csv"
    assert export.filename == golden.name
    assert export.content == golden.read_bytes()


def test_ingress_export_writes_bytes_even_when_the_view_shows_percentages() -> None:
    # Given
    source = source_of(
        [
            record("a", IN, utc(2025, 10, 1), 7),
            record("a", IN, utc(2026, 3, 10, 23, 45), 3),
            record("b", IN, utc(2026, 2, 14), 10**12),
            record("c", OUT, utc(2026, 2, 14), 10**12),
        ],
        PRICES,
    )
    query = ReportQuery(Tab.INGRESS, PeriodName.LAST_6_MONTHS, date(2026, 3, 10), Metric.PERCENTAGE)

    # When
    export = to_csv(build_report(source, query))

    # Then
    golden = GOLDEN / "Chargeback_2025-10-01_2026-03-10_Ingress.csv"
    assert export.filename == golden.name
    assert export.content == golden.read_bytes()


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        (" =1+1", "' =1+1"),
        ("   +1", "'   +1"),
        (" -2", "' -2"),
        ("\u00a0@SUM(A1)", "'\u00a0@SUM(A1)"),  # a no-break space is trimmed too
        ("\u3000=1", "'\u3000=1"),  # an ideographic space likewise
        (" team", " team"),
        ("a=b", "a=b"),
        ("team -a", "team -a"),
    ],
)
def test_a_formula_start_behind_leading_whitespace_is_defused_and_other_names_are_kept(
    name: str, cell: str
) -> None:
    # Given
    source = source_of([record(name, IN, utc(2026, 3, 10), 7)], PRICES)
    query = ReportQuery(Tab.INGRESS, PeriodName.LAST_7_DAYS, date(2026, 3, 10), Metric.BYTES)

    # When
    export = to_csv(build_report(source, query))

    # Then
    row = f"{cell},0,0,0,0,0,0,7,7\r\n"
    assert export.content.decode("utf-8").splitlines(keepends=True)[1] == row


@pytest.mark.parametrize(("tab", "suffix"), [(Tab.OVERALL, "OverallCost"), (Tab.EGRESS, "Egress")])
def test_file_name_names_the_first_and_last_day_and_the_tab(tab: Tab, suffix: str) -> None:
    # Given
    query = ReportQuery(tab, PeriodName.YEAR_TO_DATE, date(2028, 2, 29))

    # When
    export = to_csv(build_report(source_of([]), query))

    # Then: no rows, just the header
    assert export.filename == f"Chargeback_2028-01-01_2028-02-29_{suffix}.csv"
    assert export.content == b"Service account,2028-01,2028-02,Total\r\n"


def test_export_keeps_the_views_filter_and_sort_order() -> None:
    # Given
    source = source_of(
        [record(name, OUT, utc(2026, 3, 10), n) for name, n in (("ab", 1), ("Abc", 2), ("x", 3))]
    )
    query = ReportQuery(
        Tab.EGRESS, PeriodName.LAST_7_DAYS, date(2026, 3, 10), Metric.COST, filter_text="AB"
    )

    # When
    export = to_csv(build_report(source, query))

    # Then: cost is zero at default prices, so the name order decides; bytes are exported
    lines = export.content.decode("utf-8").split("\r\n")
    assert lines[1:] == ["ab,0,0,0,0,0,0,1,1", "Abc,0,0,0,0,0,0,2,2", ""]
