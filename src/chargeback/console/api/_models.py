"""The JSON the API speaks: money as exact decimal strings, percentages as the engine's decimal
strings (rounded once, half-up, to 6 places), bytes as ints.

These models only carry what the report engine and pricing computed; nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from chargeback.pricing import CURRENCY_CODES, GbUnit, PriceSettings
from chargeback.reports import (
    Bucket,
    Cell,
    ChartSeries,
    Report,
    ReportRow,
    SortOrder,
    chart_series,
)
from chargeback.reports.export import export_filename

JsonCell = str | int
"""A cell in JSON: a decimal string (money, percent) or an integer (bytes)."""


class QueryOut(BaseModel):
    """The view that was shown, with every default filled in (for bookmarks and exports)."""

    tab: str
    period: str
    metric: str
    asOf: str  # noqa: N815 - the query parameter's own spelling
    tz: str
    filter: str
    sort: str
    cluster: str | None


class BucketOut(BaseModel):
    """One column: a local day (`YYYY-MM-DD`) or month (`YYYY-MM`)."""

    label: str
    first_day: str
    last_day: str


class RowOut(BaseModel):
    """One service account: a cell per bucket and its total."""

    service_account: str
    cells: list[JsonCell]
    total: JsonCell


class SeriesOut(BaseModel):
    """One chart series: a service account, or "Other" for the accounts folded together."""

    name: str
    values: list[JsonCell]
    is_other: bool = False


class ReportPricesOut(BaseModel):
    """The prices a report was priced at. `bytes_per_gb` says what one GB means."""

    ingress_per_gb: str
    egress_per_gb: str
    currency: str
    gb_unit: str
    bytes_per_gb: int


class PricesOut(ReportPricesOut):
    """The prices in force, and the currencies a new price may be given in (for a price form;
    a report has no use for them)."""

    currencies: list[str] = Field(description="the ISO 4217 codes a price may be given in")


class PricesIn(BaseModel):
    """New prices; an absent field keeps its value. Prices are decimal strings ("0.05")."""

    model_config = ConfigDict(extra="forbid")

    ingress_per_gb: str | None = None
    egress_per_gb: str | None = None
    currency: str | None = None
    gb_unit: str | None = Field(default=None, description="decimal (10^9 bytes) or binary (2^30)")


class ReportOut(BaseModel):
    """One view of the Chargeback page: buckets, rows (filtered, sorted), totals, chart."""

    query: QueryOut
    first_day: str
    last_day: str
    unit: str = Field(description="the currency code for cost, 'bytes' or 'percent'")
    prices: ReportPricesOut
    buckets: list[BucketOut]
    rows: list[RowOut]
    column_totals: list[JsonCell]
    grand_total: JsonCell
    chart: list[SeriesOut]
    export_filename: str


class ErrorOut(BaseModel):
    """A refused request: `detail` says what is wrong; `errors` names bad fields, if any."""

    detail: str
    errors: dict[str, str] | None = None


def json_cell(cell: Cell) -> JsonCell:
    """A cell as JSON: exact decimals as plain strings (never exponents, no trailing zeros:
    the engine's money carries 17 or more decimal places), bytes as ints.

    >>> json_cell(Decimal("1E+2")), json_cell(Decimal("0.000000125")), json_cell(7)
    ('100', '0.000000125', 7)
    >>> json_cell(Decimal("0.25000000000000000")), json_cell(Decimal("0E-17"))
    ('0.25', '0')
    >>> json_cell(Decimal("123456789012345678901234567890.12345678900"))  # all 41 digits kept
    '123456789012345678901234567890.123456789'
    """
    if not isinstance(cell, Decimal):
        return cell
    # Not Decimal.normalize: it rounds to the context's 28 digits, and money is exact.
    text = format(cell, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def sort_text(order: SortOrder) -> str:
    """The sort as the `sort` query parameter spells it.

    >>> sort_text(SortOrder("total", True))
    'total:desc'
    """
    return f"{order.column}:{'desc' if order.descending else 'asc'}"


def prices_out(prices: PriceSettings) -> PricesOut:
    """The prices in force as `/api/v1/pricing` answers them, with the currencies offered."""
    return PricesOut(**report_prices_out(prices).model_dump(), currencies=sorted(CURRENCY_CODES))


def report_prices_out(prices: PriceSettings) -> ReportPricesOut:
    """The prices a report was priced at, as JSON."""
    return ReportPricesOut(
        ingress_per_gb=format(prices.ingress_per_gb, "f"),
        egress_per_gb=format(prices.egress_per_gb, "f"),
        currency=prices.currency,
        gb_unit=prices.gb_unit.value,
        bytes_per_gb=GbUnit(prices.gb_unit).bytes_per_gb,
    )


def report_out(report: Report, chart_accounts: int) -> ReportOut:
    """`report` as JSON, with the engine's chart of its `chart_accounts` largest accounts."""
    query = report.query
    return ReportOut(
        query=QueryOut(
            tab=query.tab.value,
            period=query.period.value,
            metric=query.metric.value,
            asOf=query.as_of.isoformat(),
            tz=query.zone,
            filter=query.filter_text,
            sort=sort_text(query.sort),
            cluster=query.cluster,
        ),
        first_day=report.first_day.isoformat(),
        last_day=report.last_day.isoformat(),
        unit=report.unit,
        prices=report_prices_out(report.prices),
        buckets=[_bucket_out(bucket) for bucket in report.buckets],
        rows=[_row_out(row) for row in report.rows],
        column_totals=[json_cell(cell) for cell in report.column_totals],
        grand_total=json_cell(report.grand_total),
        chart=[_series_out(series) for series in chart_series(report, chart_accounts)],
        export_filename=export_filename(report),
    )


def _bucket_out(bucket: Bucket) -> BucketOut:
    return BucketOut(
        label=bucket.label,
        first_day=bucket.first_day.isoformat(),
        last_day=bucket.last_day.isoformat(),
    )


def _series_out(series: ChartSeries) -> SeriesOut:
    return SeriesOut(name=series.name, values=_json_cells(series.values), is_other=series.is_other)


def _row_out(row: ReportRow) -> RowOut:
    return RowOut(
        service_account=row.service_account,
        cells=_json_cells(row.cells),
        total=json_cell(row.total),
    )


def _json_cells(cells: Iterable[Cell]) -> list[JsonCell]:
    return [json_cell(cell) for cell in cells]
