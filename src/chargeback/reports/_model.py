"""What a report is: the query that selects it and the result every face (API, page, CLI) shows.

This module is the contract between the report engine and its faces; the engine fills it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from chargeback.pricing import PriceSettings


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
    """Everything that selects one view. `zone` is an IANA name, `as_of` a date in that zone."""

    tab: Tab
    period: PeriodName
    as_of: date
    metric: Metric = Metric.COST
    zone: str = "UTC"
    filter_text: str = ""
    sort: SortOrder = SortOrder()
    cluster: str | None = None


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
"""Money (Decimal, unrounded), bytes (int) or a percentage (Decimal, 0 to 100, unrounded)."""


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
    shares of the whole tab (all service accounts, before the filter).

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
