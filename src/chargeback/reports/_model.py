"""What a report is: the query that selects it and the result every face (API, page, CLI) shows.

This module is the contract between the report engine and its faces; the engine fills it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from chargeback.pricing import PriceSettings
from chargeback.reports.errors import ReportError
from chargeback.usage import USAGE_ENDS_BEFORE_UTC

# The as-of dates a report may end on. A 12-month or 30-day period reaches back into the year
# before the as-of date, and the calendar starts with the year 1. At the other end, the engine
# and the store work out the first day of the month after the as-of month, and the calendar
# ends with 9999: the year 9999 is off limits, for usage as for reports.
EARLIEST_AS_OF = date(2, 1, 1)
LATEST_AS_OF = USAGE_ENDS_BEFORE_UTC.date() - timedelta(days=1)


class Tab(StrEnum):
    """The three views of the Chargeback page (spec section 4)."""

    OVERALL = "overall"
    INGRESS = "ingress"
    EGRESS = "egress"


class PeriodName(StrEnum):
    """The periods of spec section 3."""

    LAST_7_DAYS = "7D"
    LAST_30_DAYS = "30D"
    LAST_6_MONTHS = "6M"
    LAST_12_MONTHS = "12M"
    YEAR_TO_DATE = "YTD"


class Metric(StrEnum):
    """What the cells hold. Overall Cost offers cost and percentage only."""

    COST = "cost"
    BYTES = "bytes"
    PERCENTAGE = "percentage"


SERVICE_ACCOUNT_COLUMN = "service_account"
TOTAL_COLUMN = "total"


@dataclass(frozen=True, slots=True)
class SortOrder:
    """Sort by `column`: SERVICE_ACCOUNT_COLUMN, TOTAL_COLUMN or a bucket label."""

    column: str = TOTAL_COLUMN
    descending: bool = True


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Everything that selects one view. `zone` is an IANA name, `as_of` a date in that zone.

    Raises:
        ReportError: `as_of` is before EARLIEST_AS_OF or after LATEST_AS_OF.
    """

    tab: Tab
    period: PeriodName
    as_of: date
    metric: Metric = Metric.COST
    zone: str = "UTC"
    filter_text: str = ""
    sort: SortOrder = SortOrder()
    cluster: str | None = None

    def __post_init__(self) -> None:
        check_as_of(self.as_of)


def check_as_of(as_of: date) -> None:
    """Refuse an as-of date whose periods would leave the calendar (years 1 to 9999).

    Raises:
        ReportError: names the date and the dates allowed.

    >>> check_as_of(date(9999, 12, 31))
    Traceback (most recent call last):
    ...
    chargeback.reports.errors.ReportError: as-of date 9999-12-31 is too late: use a date up to 9998-12-31
    """  # noqa: E501
    if as_of < EARLIEST_AS_OF:
        raise ReportError(
            f"as-of date {as_of.isoformat()} is too early: use a date from "
            f"{EARLIEST_AS_OF.isoformat()} on"
        )
    if as_of > LATEST_AS_OF:
        raise ReportError(
            f"as-of date {as_of.isoformat()} is too late: use a date up to "
            f"{LATEST_AS_OF.isoformat()}"
        )


@dataclass(frozen=True, slots=True)
class Bucket:
    """One column of the table: a local day (7D, 30D) or a local month (6M, 12M, YTD).

    `label` is `YYYY-MM-DD` for days and `YYYY-MM` for months; `last_day` of the as-of month
    is the as-of date itself.
    """

    label: str
    first_day: date
    last_day: date


Cell = Decimal | int
"""Money (Decimal, unrounded), bytes (int) or a percentage (Decimal, 0 to 100, rounded half-up
to PERCENT_DECIMAL_PLACES)."""

PERCENT_DECIMAL_PLACES = 6
"""Places of every percentage: a millionth of a percent, finer than any bill needs."""


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One service account: one cell per bucket, and its total over the period."""

    service_account: str
    cells: tuple[Cell, ...]
    total: Cell


@dataclass(frozen=True, slots=True)
class Report:
    """One view, ready to show: rows already filtered and sorted.

    `unit` is the currency code for cost, "bytes" or "percent". `column_totals` and
    `grand_total` are over the filtered rows, computed from exact values. Percentages are
    shares of the whole tab (all service accounts, before the filter), each computed exactly
    and rounded once, half-up, to PERCENT_DECIMAL_PLACES; a percentage total is the share of
    the filtered rows' exact sum in that column (exactly 100 when no row is filtered out).

    `export_rows` are `rows` in the metric the CSV carries (spec section 5: cost on Overall
    Cost, bytes on Ingress and Egress), same rows, same order; None when that metric is the
    one shown, so `rows` serve.
    """

    query: ReportQuery
    first_day: date
    last_day: date
    buckets: tuple[Bucket, ...]
    rows: tuple[ReportRow, ...]
    column_totals: tuple[Cell, ...]
    grand_total: Cell
    unit: str
    prices: PriceSettings
    export_rows: tuple[ReportRow, ...] | None = None
