"""The chart of a report: the largest service accounts as their own series, the rest as "Other".

The spec (section 4) folds the smaller accounts together so that the chart stays readable; the
folding adds up cells, so it lives here, beside the report, and not in any face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from chargeback.pricing import sums_of_money
from chargeback.reports._engine import sort_lines
from chargeback.reports._model import Cell, Report, ReportRow, SortOrder
from chargeback.reports.errors import ReportError

OTHER_SERIES = "Other"


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """One series of the stacked chart: a value per bucket, in the report's metric.

    `is_other` marks the series that holds the sum of the accounts not shown on their own.
    """

    name: str
    values: tuple[Cell, ...]
    is_other: bool = False


def chart_series(report: Report, accounts: int) -> tuple[ChartSeries, ...]:
    """The `accounts` largest rows of `report` by total, then "Other" summing the rest exactly.

    The largest come first whatever the table's sort (ties by name), so the chart of a view is
    the same however its table is sorted. "Other" is absent when every row has its own series.

    Raises:
        ReportError: `accounts` is negative.
    """
    if accounts < 0:
        raise ReportError(f"chart accounts {accounts} is negative: use 0 or more")
    ranked = _largest_first(report.rows)
    shown, folded = ranked[:accounts], ranked[accounts:]
    series = [ChartSeries(row.service_account, row.cells) for row in shown]
    if folded:
        series.append(ChartSeries(OTHER_SERIES, _column_sums(folded), is_other=True))
    return tuple(series)


def _largest_first(rows: Sequence[ReportRow]) -> list[ReportRow]:
    """The engine's default order: total descending, ties by name ascending."""
    return sort_lines(rows, SortOrder(), lambda row: row.total)


def _column_sums(rows: Sequence[ReportRow]) -> tuple[Cell, ...]:
    """Each bucket's exact sum over `rows`: money and percentages as Decimal, bytes as int."""
    columns = list(zip(*(row.cells for row in rows), strict=True))
    if isinstance(rows[0].total, Decimal):
        return tuple(sums_of_money((Decimal(cell) for cell in column) for column in columns))
    return tuple(sum(int(cell) for cell in column) for column in columns)
