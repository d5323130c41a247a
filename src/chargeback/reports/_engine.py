"""The report engine: usage totals in, one filtered and sorted view out (spec sections 3 and 4)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from chargeback.pricing import PriceSettings, costs_of_usage, sum_money, sums_of_money
from chargeback.reports._model import (
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
from chargeback.usage import Direction

_HUNDRED = Decimal(100)
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
        ReportError: the query is inconsistent (bytes on Overall Cost, an unknown sort column).
    """
    check_query(query)
    buckets = period_buckets(query.period, query.as_of)
    prices = store.get_prices() if prices is None else prices
    grid = _bytes_grid(_fetch_usage(store, query, buckets), buckets)
    shown = _filter_and_sort(_lines(query.tab, query.metric, grid, prices, len(buckets)), query)
    exported = _export_lines(query, grid, prices, len(buckets), shown)
    return Report(
        query=query,
        first_day=buckets[0].first_day,
        last_day=buckets[-1].last_day,
        buckets=buckets,
        rows=_rows(shown),
        column_totals=_column_totals(shown, len(buckets), _zero(query.metric)),
        grand_total=_sum((line.total for line in shown), _zero(query.metric)),
        unit=_unit(query.metric, prices),
        prices=prices,
        export_rows=None if exported is None else _rows(exported),
    )


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
    if is_daily(query.period):
        return store.daily_grid(query.zone, first_day, last_day, query.cluster)
    return store.monthly_grid(query.zone, first_day, last_day, query.cluster)


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
    """Every service account with usage on `tab`, its cells in `metric`, exact."""
    if metric is Metric.PERCENTAGE:
        base = Metric.COST if tab is Tab.OVERALL else Metric.BYTES
        return _percentages(_lines(tab, base, grid, prices, bucket_count), bucket_count)
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


def _percentages(lines: Sequence[_Line], bucket_count: int) -> list[_Line]:
    """Each cell as a share of its column's total over all accounts (before any filter)."""
    column_totals = _column_totals(lines, bucket_count, Decimal(0))
    grand_total = _sum((line.total for line in lines), Decimal(0))
    return [
        _Line(
            line.service_account,
            tuple(
                _share(cell, whole) for cell, whole in zip(line.cells, column_totals, strict=True)
            ),
            _share(line.total, grand_total),
        )
        for line in lines
    ]


def _share(part: Cell, whole: Cell) -> Decimal:
    # A bucket where nobody used anything (or everything was free) has no shares: 0 %, not an error.
    if whole == 0:
        return Decimal(0)
    return _HUNDRED * Decimal(part) / Decimal(whole)


def _filter_and_sort(lines: Sequence[_Line], query: ReportQuery) -> list[_Line]:
    needle = query.filter_text.casefold()
    kept = [line for line in lines if needle in line.service_account.casefold()]
    return _sort_lines(kept, query.sort, _sort_value(query))


def _sort_value(query: ReportQuery) -> Callable[[_Line], Cell] | None:
    column = query.sort.column
    if column == SERVICE_ACCOUNT_COLUMN:
        return None
    if column == TOTAL_COLUMN:
        return lambda line: line.total
    labels = [bucket.label for bucket in period_buckets(query.period, query.as_of)]
    index = labels.index(column)
    return lambda line: line.cells[index]


def _sort_lines(
    lines: Sequence[_Line], sort: SortOrder, value_of: Callable[[_Line], Cell] | None
) -> list[_Line]:
    """Sort by `value_of` (or by name when None); ties always by name ascending.

    Names compare case-insensitively, then exactly, so the order never depends on input order.
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


def _export_lines(
    query: ReportQuery,
    grid: BytesGrid,
    prices: PriceSettings,
    bucket_count: int,
    shown: Sequence[_Line],
) -> list[_Line] | None:
    """The shown rows in the metric the CSV carries (spec 5), or None if that is the shown one."""
    export_metric = Metric.COST if query.tab is Tab.OVERALL else Metric.BYTES
    if query.metric is export_metric:
        return None
    by_name = {
        line.service_account: line
        for line in _lines(query.tab, export_metric, grid, prices, bucket_count)
    }
    return [by_name[line.service_account] for line in shown]


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
