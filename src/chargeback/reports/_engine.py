"""The report engine: usage totals in, one filtered and sorted view out (spec sections 3 and 4)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Context, Decimal
from typing import Protocol, TypeVar

from chargeback.pricing import (
    PriceSettings,
    costs_of_usage,
    round_half_up,
    sum_money,
    sums_of_money,
)
from chargeback.reports._model import (
    PERCENT_DECIMAL_PLACES,
    SERVICE_ACCOUNT_COLUMN,
    TOTAL_COLUMN,
    Bucket,
    Cell,
    Metric,
    Report,
    ReportQuery,
    ReportRow,
    SortOrder,
    Tab,
)
from chargeback.reports._periods import is_daily, period_buckets
from chargeback.reports._source import UsageGridLike, UsageSource
from chargeback.reports.errors import ReportError
from chargeback.store import ZoneLimitError
from chargeback.usage import Direction

# Shares are at most 1 (3 digits once in percent): 5 digits more than the places kept.
_SHARE_DIVISION = Context(prec=PERCENT_DECIMAL_PLACES + 5, rounding=ROUND_DOWN)
_TAB_DIRECTIONS = {
    Tab.OVERALL: (Direction.INGRESS, Direction.EGRESS),
    Tab.INGRESS: (Direction.INGRESS,),
    Tab.EGRESS: (Direction.EGRESS,),
}

BytesGrid = dict[Direction, dict[str, list[int]]]
"""Bytes per direction, service account and bucket index."""


@dataclass(frozen=True, slots=True)
class _Line:
    """A service account's exact values in one metric, before filtering and sorting."""

    service_account: str
    cells: tuple[Cell, ...]
    total: Cell


def build_report(
    store: UsageSource, query: ReportQuery, prices: PriceSettings | None = None
) -> Report:
    """Build the view `query` selects from the usage in `store`, priced at `prices`.

    `prices` defaults to the prices stored in `store` (today's prices re-price every period).

    Raises:
        ReportError: the query is inconsistent (bytes on Overall Cost, an unknown sort column),
            or its zone would need rollups past the store's `max_report_zones`.
    """
    check_query(query)
    buckets = period_buckets(query.period, query.as_of)
    prices = store.get_prices() if prices is None else prices
    grid = _bytes_grid(_fetch_usage(store, query, buckets), buckets)
    if query.metric is Metric.PERCENTAGE:
        view = _percentage_view(query, grid, prices, len(buckets))
    else:
        view = _value_view(query, grid, prices, len(buckets))
    return Report(
        query=query,
        first_day=buckets[0].first_day,
        last_day=buckets[-1].last_day,
        buckets=buckets,
        rows=_rows(view.shown),
        column_totals=view.column_totals,
        grand_total=view.grand_total,
        unit=_unit(query.metric, prices),
        prices=prices,
        export_rows=None if view.exported is None else _rows(view.exported),
    )


@dataclass(frozen=True, slots=True)
class _View:
    """The lines a report shows, their totals, and the same lines in the exported metric
    (None when that is the metric shown)."""

    shown: list[_Line]
    column_totals: tuple[Cell, ...]
    grand_total: Cell
    exported: list[_Line] | None


def _value_view(
    query: ReportQuery, grid: BytesGrid, prices: PriceSettings, bucket_count: int
) -> _View:
    """A view of cost or bytes: totals are exact sums of the shown lines."""
    shown = _filter_and_sort(_lines(query.tab, query.metric, grid, prices, bucket_count), query)
    zero = _zero(query.metric)
    export_metric = _export_metric(query.tab)
    exported = None
    if query.metric is not export_metric:
        exported = _in_order_of(shown, _lines(query.tab, export_metric, grid, prices, bucket_count))
    return _View(
        shown,
        _column_totals(shown, bucket_count, zero),
        _sum((line.total for line in shown), zero),
        exported,
    )


def _percentage_view(
    query: ReportQuery, grid: BytesGrid, prices: PriceSettings, bucket_count: int
) -> _View:
    """Shares of the exported metric (cost on Overall Cost, bytes on Ingress and Egress).

    Every cell is a share of its whole column over all accounts, before the filter. A total
    is the share of the shown lines' exact sum, never a sum of rounded shares: with nothing
    filtered out it is exactly 100 (0 in a column without usage).
    """
    export_metric = _export_metric(query.tab)
    values = _lines(query.tab, export_metric, grid, prices, bucket_count)
    zero = _zero(export_metric)
    column_wholes = _column_totals(values, bucket_count, zero)
    whole = _sum((line.total for line in values), zero)
    shares = [
        _Line(
            line.service_account,
            tuple(
                _share(cell, total) for cell, total in zip(line.cells, column_wholes, strict=True)
            ),
            _share(line.total, whole),
        )
        for line in values
    ]
    shown = _filter_and_sort(shares, query)
    exported = _in_order_of(shown, values)
    column_parts = _column_totals(exported, bucket_count, zero)
    return _View(
        shown,
        tuple(_share(part, total) for part, total in zip(column_parts, column_wholes, strict=True)),
        _share(_sum((line.total for line in exported), zero), whole),
        exported,
    )


def _export_metric(tab: Tab) -> Metric:
    """What the CSV carries (spec 5), and what percentages share: cost on Overall Cost."""
    return Metric.COST if tab is Tab.OVERALL else Metric.BYTES


def _in_order_of(shown: Sequence[_Line], lines: Iterable[_Line]) -> list[_Line]:
    """`lines` of the accounts in `shown`, in the order of `shown`."""
    by_name = {line.service_account: line for line in lines}
    return [by_name[line.service_account] for line in shown]


def check_query(query: ReportQuery) -> None:
    """Check what the types alone cannot: the metric fits the tab, the sort column exists.

    Raises:
        ReportError: bytes on Overall Cost, or a sort column that is not in this view.
    """
    if query.tab is Tab.OVERALL and query.metric is Metric.BYTES:
        raise ReportError(
            "metric 'bytes' is not offered on the overall tab: use cost or percentage"
        )
    labels = [bucket.label for bucket in period_buckets(query.period, query.as_of)]
    if query.sort.column not in (SERVICE_ACCOUNT_COLUMN, TOTAL_COLUMN, *labels):
        raise ReportError(
            f"unknown sort column {query.sort.column!r}: use {SERVICE_ACCOUNT_COLUMN},"
            f" {TOTAL_COLUMN} or a bucket label from {labels[0]} to {labels[-1]}"
        )


def _fetch_usage(
    store: UsageSource, query: ReportQuery, buckets: Sequence[Bucket]
) -> UsageGridLike:
    first_day, last_day = buckets[0].first_day, buckets[-1].last_day
    try:
        if is_daily(query.period):
            return store.daily_grid(query.zone, first_day, last_day, query.cluster)
        return store.monthly_grid(query.zone, first_day, last_day, query.cluster)
    except ZoneLimitError as error:
        # The viewer's choice of zone, not a failing store: a message for them (API 422).
        raise ReportError(str(error)) from None


def _bytes_grid(usage: UsageGridLike, buckets: Sequence[Bucket]) -> BytesGrid:
    positions = _bucket_positions(usage.bucket_starts, buckets)
    in_order = positions == list(range(len(buckets)))
    grid: BytesGrid = {Direction.INGRESS: {}, Direction.EGRESS: {}}
    for (account, direction), row in usage.bytes_by_key.items():
        # Direction is a StrEnum, so a plain "ingress" from a store finds its key too.
        accounts = grid[direction]
        if in_order and account not in accounts:
            accounts[account] = list(row)
            continue
        cells = accounts.setdefault(account, [0] * len(buckets))
        for position, byte_count in zip(positions, row, strict=True):
            cells[position] += byte_count
    return grid


def _bucket_positions(bucket_starts: Sequence[date], buckets: Sequence[Bucket]) -> list[int]:
    """Where each of the store's buckets goes among ours."""
    index_of = {bucket.first_day: index for index, bucket in enumerate(buckets)}
    outside = [start for start in bucket_starts if start not in index_of]
    if outside:
        # The store answers exactly the asked range; anything else is a store bug, and a
        # silently dropped byte would be worse than a loud failure.
        raise ReportError(f"usage for bucket {outside[0]} is outside the period")
    return [index_of[start] for start in bucket_starts]


def _lines(
    tab: Tab, metric: Metric, grid: BytesGrid, prices: PriceSettings, bucket_count: int
) -> list[_Line]:
    """Every service account with usage on `tab`, its cells in `metric` (cost or bytes), exact."""
    accounts = sorted({name for d in _TAB_DIRECTIONS[tab] for name in grid[d]})
    if metric is Metric.BYTES:
        return [_byte_line(tab, account, grid, bucket_count) for account in accounts]
    return _cost_lines(tab, accounts, grid, prices, bucket_count)


def _byte_line(tab: Tab, account: str, grid: BytesGrid, bucket_count: int) -> _Line:
    cells = [0] * bucket_count
    for direction in _TAB_DIRECTIONS[tab]:
        for index, byte_count in enumerate(grid[direction].get(account, ())):
            cells[index] += byte_count
    return _Line(account, tuple(cells), sum(cells))


def _cost_lines(
    tab: Tab, accounts: Sequence[str], grid: BytesGrid, prices: PriceSettings, bucket_count: int
) -> list[_Line]:
    """Cost lines, priced in one go: a report of thousands of accounts has ~10**5 cells.

    A row's total is the cost of its total bytes: exactly the sum of its cells.
    """
    no_usage = [0] * bucket_count
    directions = _TAB_DIRECTIONS[tab]
    produced = [
        grid[Direction.INGRESS].get(a, no_usage) if Direction.INGRESS in directions else no_usage
        for a in accounts
    ]
    consumed = [
        grid[Direction.EGRESS].get(a, no_usage) if Direction.EGRESS in directions else no_usage
        for a in accounts
    ]
    pairs = (
        pair
        for ins, outs in zip(produced, consumed, strict=True)
        for pair in zip(ins, outs, strict=True)
    )
    cells = costs_of_usage(pairs, prices)
    totals = costs_of_usage(
        ((sum(ins), sum(outs)) for ins, outs in zip(produced, consumed, strict=True)), prices
    )
    return [
        _Line(account, tuple(cells[i * bucket_count : (i + 1) * bucket_count]), total)
        for i, (account, total) in enumerate(zip(accounts, totals, strict=True))
    ]


def _share(part: Cell, whole: Cell) -> Decimal:
    """100 * part / whole, rounded half-up to PERCENT_DECIMAL_PLACES exactly as if computed
    with every digit; 0 where `whole` is 0 (nobody used anything, or everything was free).

    The quotient is cut (not rounded) a few digits past the places kept: the cut part lies
    below one unit of a digit finer than any half-way point, so the one rounding that
    follows lands where the exact value would.

    >>> _share(1, 3), _share(2, 3), _share(1, 8_000_000), _share(0, 0)
    (Decimal('33.333333'), Decimal('66.666667'), Decimal('0.000013'), Decimal('0'))
    """
    if whole == 0:
        return Decimal(0)
    cut = _SHARE_DIVISION.divide(Decimal(part), Decimal(whole)).scaleb(2)
    return round_half_up(cut, PERCENT_DECIMAL_PLACES)


def _filter_and_sort(lines: Sequence[_Line], query: ReportQuery) -> list[_Line]:
    needle = query.filter_text.casefold()
    kept = [line for line in lines if needle in line.service_account.casefold()]
    return sort_lines(kept, query.sort, _sort_value(query))


def _sort_value(query: ReportQuery) -> Callable[[_Line], Cell] | None:
    column = query.sort.column
    if column == SERVICE_ACCOUNT_COLUMN:
        return None
    if column == TOTAL_COLUMN:
        return lambda line: line.total
    labels = [bucket.label for bucket in period_buckets(query.period, query.as_of)]
    index = labels.index(column)
    return lambda line: line.cells[index]


class _Named(Protocol):
    @property
    def service_account(self) -> str: ...


_NamedT = TypeVar("_NamedT", bound=_Named)


def sort_lines(
    lines: Sequence[_NamedT], sort: SortOrder, value_of: Callable[[_NamedT], Cell] | None
) -> list[_NamedT]:
    """Sort by `value_of` (or by name when None); ties always by name ascending.

    Names compare case-insensitively, then exactly, so the order never depends on input order.
    Lines are anything with a `service_account`: the engine's own lines, a report's rows.
    """
    by_name = sorted(lines, key=lambda line: name_key(line.service_account))
    if value_of is None:
        return list(reversed(by_name)) if sort.descending else by_name
    # sorted() is stable also with reverse=True, so equal values keep the name order.
    return sorted(by_name, key=value_of, reverse=sort.descending)


def name_key(name: str) -> tuple[str, str]:
    """The order of service account names: case-insensitive, then exact.

    >>> sorted(["b", "B", "a"], key=name_key)
    ['a', 'B', 'b']
    """
    return (name.casefold(), name)


def _rows(lines: Iterable[_Line]) -> tuple[ReportRow, ...]:
    return tuple(ReportRow(line.service_account, line.cells, line.total) for line in lines)


def _column_totals(lines: Sequence[_Line], bucket_count: int, zero: Cell) -> tuple[Cell, ...]:
    columns = zip(*(line.cells for line in lines), strict=True)
    if isinstance(zero, Decimal):
        return tuple(sums_of_money(columns)) if lines else (zero,) * bucket_count
    return tuple(sum(column) for column in columns) if lines else (zero,) * bucket_count


def _sum(values: Iterable[Cell], zero: Cell) -> Cell:
    """Exact sum starting from `zero`, so bytes stay int and money stays Decimal.

    Costs in binary GB carry more digits than the default 28, hence `sum_money`.
    """
    if isinstance(zero, Decimal):
        return sum_money(Decimal(value) for value in values)
    return sum(int(value) for value in values)


def _zero(metric: Metric) -> Cell:
    return 0 if metric is Metric.BYTES else Decimal(0)


def _unit(metric: Metric, prices: PriceSettings) -> str:
    if metric is Metric.COST:
        return prices.currency
    return "bytes" if metric is Metric.BYTES else "percent"
