"""The chart's series: the largest accounts by name, the rest summed exactly into "Other"."""

from __future__ import annotations

from decimal import Decimal

from chargeback.console.api._models import chart_series
from chargeback.reports import ReportRow


def test_other_adds_up_the_folded_accounts_bytes_as_integers() -> None:
    # Given rows already in the engine's order, largest first
    ranked = (
        ReportRow("a", (5, 1), 6),
        ReportRow("b", (2, 2), 4),
        ReportRow("c", (1, 0), 1),
        ReportRow("d", (0, 3), 3),
    )
    # When
    series = chart_series(ranked, bucket_count=2, accounts=2)
    # Then
    assert [(s.name, s.values, s.is_other) for s in series] == [
        ("a", [5, 1], False),
        ("b", [2, 2], False),
        ("Other", [1, 3], True),
    ]


def test_other_stays_exact_beyond_the_default_decimal_precision() -> None:
    # Given costs with 40 significant digits (as the binary GB unit produces)
    tiny = Decimal("0.000000000000000000000000000000931322574615478515625")
    big = Decimal("123456789.123456789")
    ranked = (
        ReportRow("a", (big,), big),
        ReportRow("b", (big,), big),
        ReportRow("c", (tiny,), tiny),
    )
    # When
    series = chart_series(ranked, bucket_count=1, accounts=1)
    # Then
    # 9 decimals of `big`, then `tiny`'s 30 leading zeros less those 9, then its digits
    assert series[1].values == ["123456789.123456789" + "0" * 21 + "931322574615478515625"]


def test_no_other_series_when_every_account_fits() -> None:
    # When
    series = chart_series((ReportRow("a", (1,), 1),), bucket_count=1, accounts=8)
    # Then
    assert [s.name for s in series] == ["a"]
