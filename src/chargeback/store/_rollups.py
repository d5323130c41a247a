"""Per-zone rollups: building them for a new zone, and reading day and month grids from them.

`usage_days` holds, per materialized zone, (cluster, service account, direction, local month)
rows with the bytes of each day of that month; `usage_months` holds (..., local year) rows with
the bytes of each month. Writes keep them current (`_usage_writes.add_to_rollups`); a zone
asked for the first time is built here from raw usage, in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from operator import add
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chargeback.store import _tables as t
from chargeback.store._errors import StoreError, ZoneLimitError
from chargeback.store._rows import UsageTotal
from chargeback.store._usage_writes import add_day_sums
from chargeback.store._zones import (
    SECONDS_PER_DAY,
    day_number,
    load_zone,
    month_ends,
    month_number,
    month_start,
    offset_segments,
)
from chargeback.usage import MAX_BYTES, Direction

_DIRECTIONS = {direction.value: direction for direction in Direction}
_Row = tuple[Any, ...]
# Day sums laid out per round trip while building a zone: bounds memory on large stores.
_BUILD_CHUNK_ROWS = 100_000
_Grid = dict[tuple[str, Direction], list[int]]


@dataclass(frozen=True, slots=True)
class UsageGrid:
    """Bytes per (service account, direction) per bucket, ready to lay out as a table.

    `bytes_by_key[(account, direction)][i]` is the bytes of bucket `bucket_starts[i]` (a local
    day, or the first day of a local month). Keys with no bytes in any bucket are left out.
    """

    bucket_starts: list[date]
    bytes_by_key: dict[tuple[str, Direction], list[int]]

    def totals(self) -> list[UsageTotal]:
        """The grid as one `UsageTotal` per non-zero cell."""
        starts = self.bucket_starts
        return [
            UsageTotal(account, direction, starts[index], byte_count)
            for (account, direction), row in self.bytes_by_key.items()
            for index, byte_count in enumerate(row)
            if byte_count
        ]


def is_materialized(connection: Connection, zone: str) -> bool:
    """Tell whether `zone`'s rollups exist."""
    found = connection.execute(
        sa.select(t.rollup_zones.c.zone).where(t.rollup_zones.c.zone == zone)
    ).first()
    return found is not None


def materialize(connection: Connection, zone: str, max_zones: int | None = None) -> bool:
    """Build `zone`'s rollups from raw usage, unless they exist; return True if built now.

    Raises:
        ZoneLimitError: `max_zones` zones are built already (None: no limit).
        StoreError: unknown zone, or a local day or month would pass MAX_BYTES.
    """
    load_zone(zone)  # refuse an unknown zone before taking any lock
    if connection.dialect.name == "postgresql":
        # One build at a time (this mode conflicts with itself, not with the writers' reads),
        # so that two builds cannot both count the zones below the limit and both go on.
        connection.execute(sa.text("LOCK TABLE rollup_zones IN SHARE ROW EXCLUSIVE MODE"))
        # SHARE conflicts with the ROW EXCLUSIVE lock writers hold on `usage`: wait for the
        # writes in flight, keep new ones out until this zone is listed, then they update it.
        connection.execute(sa.text("LOCK TABLE usage IN SHARE MODE"))
    if is_materialized(connection, zone):
        return False
    if max_zones is not None:
        built_zones = sorted(connection.execute(sa.select(t.rollup_zones.c.zone)).scalars())
        if len(built_zones) >= max_zones:
            raise ZoneLimitError(zone, built_zones, max_zones)
    window = t.usage.c.window_start_utc_s
    first_s, last_s = connection.execute(sa.select(sa.func.min(window), sa.func.max(window))).one()
    if first_s is not None:
        _build(connection, zone, first_s, last_s)
    connection.execute(
        sa.insert(t.rollup_zones).values(zone=zone, materialized_at_utc=datetime.now(UTC))
    )
    return True


def _build(connection: Connection, zone: str, first_s: int, last_s: int) -> None:
    """Build `zone`'s day and month rollups from the raw usage of `first_s` to `last_s`.

    Raises:
        StoreError: a local day or month of one key would hold more than MAX_BYTES. Writes
            keep the sums of the zones already built within it, but a zone's days cut the
            UTC windows differently, so a new zone can meet a sum no other zone has.
    """
    try:
        if connection.dialect.name == "postgresql":
            _build_days_in_sql(connection, zone, first_s, last_s)
            _build_months_in_sql(connection, zone)
        else:
            _build_days(connection, zone, first_s, last_s)
    except sa.exc.DBAPIError as error:
        if not _is_integer_overflow(error):
            raise
        raise StoreError(
            f"cannot build the rollups of time zone {zone!r}: the bytes of one service "
            f"account in one local day or month would pass {MAX_BYTES} (2**63 - 1), the most "
            "the store can count"
        ) from error


def _is_integer_overflow(error: sa.exc.DBAPIError) -> bool:
    # PostgreSQL: numeric_value_out_of_range ("bigint out of range"); SQLite's sum() says so.
    return getattr(error.orig, "sqlstate", None) == "22003" or "integer overflow" in str(error.orig)


def _build_days(connection: Connection, zone: str, first_s: int, last_s: int) -> None:
    """Sum raw usage per local day in SQL, then lay the sums out as rollup rows in Python.

    The SQL pass is a plain GROUP BY; pivoting days into columns with 31 CASE sums per row
    took SQLite ten times longer than the few lines of Python below it. (PostgreSQL is the
    other way round: it pivots fast, and shipping every day sum to Python and back is slow.)
    """
    usage = t.usage.c
    segments = offset_segments(load_zone(zone), first_s, last_s)
    local_day = (usage.window_start_utc_s + _piecewise(usage.window_start_utc_s, segments)) // (
        _integer(SECONDS_PER_DAY)
    )
    names = [usage.cluster, usage.service_account, usage.direction]
    daily = sa.select(*names, local_day.label("local_day"), sa.func.sum(usage.bytes)).group_by(
        *names, sa.literal_column("local_day")
    )
    streamed = daily.execution_options(stream_results=True, yield_per=_BUILD_CHUNK_ROWS)
    for chunk in connection.execute(streamed).partitions():
        sums = [((row[0], row[1], row[2], row[3]), int(row[4])) for row in chunk]
        add_day_sums(connection, zone, sums)


def _build_days_in_sql(connection: Connection, zone: str, first_s: int, last_s: int) -> None:
    """PostgreSQL: sum days and lay them out as rollup rows in one statement per table."""
    usage = t.usage.c
    offset_s = _piecewise(
        usage.window_start_utc_s, offset_segments(load_zone(zone), first_s, last_s)
    )
    local_day = (usage.window_start_utc_s + offset_s) // _integer(SECONDS_PER_DAY)
    names = [usage.cluster, usage.service_account, usage.direction]
    daily = (
        sa.select(*names, local_day.label("local_day"), sa.func.sum(usage.bytes).label("bytes"))
        .group_by(*names, sa.literal_column("local_day"))
        .subquery("daily")
    )
    # Local days reach at most one day past the UTC days of the first and last window.
    ends = month_ends(first_s // SECONDS_PER_DAY - 1, last_s // SECONDS_PER_DAY + 1)
    month_firsts = [ends[0][0] - 40] + [end for end, _month in ends[:-1]]
    months = [month for _end, month in ends]
    month = _piecewise(daily.c.local_day, list(zip(month_firsts, months, strict=True)))
    first_day = _piecewise(
        daily.c.local_day,
        [
            (start, day_number(month_start(m)))
            for start, m in zip(month_firsts, months, strict=True)
        ],
    )
    placed = sa.select(
        daily.c.cluster,
        daily.c.service_account,
        daily.c.direction,
        month.label("month"),
        (daily.c.local_day - first_day).label("day_index"),
        daily.c.bytes,
    ).subquery("placed")
    _insert_pivot(connection, zone, t.usage_days, placed, placed.c.month, placed.c.day_index)


def _build_months_in_sql(connection: Connection, zone: str) -> None:
    days = t.usage_days.c
    month_total = sum((days[name] for name in t.DAY_COLUMNS[1:]), start=days[t.DAY_COLUMNS[0]])
    placed = (
        sa.select(
            days.cluster,
            days.service_account,
            days.direction,
            (days.month // _integer(12)).label("year"),
            (days.month % _integer(12)).label("month_index"),
            month_total.label("bytes"),
        )
        .where(days.zone == zone)
        .subquery("placed")
    )
    _insert_pivot(connection, zone, t.usage_months, placed, placed.c.year, placed.c.month_index)


def _insert_pivot(
    connection: Connection,
    zone: str,
    table: sa.Table,
    placed: sa.Subquery,
    period: sa.ColumnElement[int],
    index: sa.ColumnElement[int],
) -> None:
    """Insert one row per (period, cluster, account, direction); bucket i sums where index = i."""
    bucket_names = [column.name for column in table.columns][5:]
    names = [placed.c.cluster, placed.c.service_account, placed.c.direction]
    buckets = [
        sa.func.sum(sa.case((index == _integer(position), placed.c.bytes), else_=_integer(0)))
        for position in range(len(bucket_names))
    ]
    pivot = sa.select(sa.literal(zone, sa.Text), period, *names, *buckets).group_by(period, *names)
    connection.execute(
        sa.insert(table).from_select([column.name for column in table.columns], pivot)
    )


def _piecewise(
    column: sa.ColumnElement[int], pieces: list[tuple[int, int]]
) -> sa.ColumnElement[int]:
    """The value of the last (start, value) piece whose start is at most `column`.

    `pieces` are sorted by start; the first covers everything before the second. Numbers are
    written into the SQL (ints we computed): hundreds of bound parameters per query would be
    slower to plan, and PostgreSQL would not see SELECT and GROUP BY expressions as equal.
    """
    if len(pieces) == 1:
        return _integer(pieces[0][1])
    return sa.case(
        *[
            (column < _integer(next_start), _integer(value))
            for (_, value), (next_start, _) in pairwise(pieces)
        ],
        else_=_integer(pieces[-1][1]),
    )


def _integer(number: int) -> sa.ColumnElement[int]:
    return sa.literal_column(str(int(number)), sa.BigInteger)


def daily_grid(
    connection: Connection, zone: str, first_day: date, last_day: date, cluster: str | None
) -> UsageGrid:
    """Bytes per (service account, direction) per local day from `first_day` to `last_day`."""
    day_count = (last_day - first_day).days + 1
    if day_count < 1:
        return UsageGrid([], {})
    grid: _Grid = {}
    for month in range(month_number(first_day), month_number(last_day) + 1):
        start = max(first_day, month_start(month))
        end = min(last_day, month_start(month + 1) - timedelta(days=1))
        days = t.DAY_COLUMNS[start.day - 1 : end.day]
        cells = [t.usage_days.c[name] for name in days]
        where = (t.usage_days.c.zone == zone, t.usage_days.c.month == month)
        rows = _grid_rows(connection, t.usage_days, where, cells, cluster)
        _add_rows(grid, rows, (start - first_day).days, day_count)
    starts = [first_day + timedelta(days=n) for n in range(day_count)]
    return UsageGrid(starts, _without_empty_keys(grid))


def monthly_grid(
    connection: Connection, zone: str, first_month: date, last_day: date, cluster: str | None
) -> UsageGrid:
    """Bytes per (service account, direction) per local month from `first_month`'s month to
    `last_day`'s, which counts only up to `last_day`."""
    first, last = month_number(first_month), month_number(last_day)
    month_count = last - first + 1
    grid: _Grid = {}
    # Complete months come from the year rows ...
    for year in range(first // 12, last // 12 + 1):
        start, end = max(first, year * 12), min(last - 1, year * 12 + 11)
        if start > end:
            continue
        cells = [t.usage_months.c[name] for name in t.MONTH_COLUMNS[start % 12 : end % 12 + 1]]
        where = (t.usage_months.c.zone == zone, t.usage_months.c.year == year)
        rows = _grid_rows(connection, t.usage_months, where, cells, cluster)
        _add_rows(grid, rows, start - first, month_count)
    # ... the month of `last_day` from its days up to `last_day`.
    if first <= last:
        days = [t.usage_days.c[name] for name in t.DAY_COLUMNS[: last_day.day]]
        where = (t.usage_days.c.zone == zone, t.usage_days.c.month == last)
        partial = sum(days[1:], start=days[0])
        rows = _grid_rows(connection, t.usage_days, where, [partial], cluster)
        _add_rows(grid, rows, month_count - 1, month_count)
    starts = [month_start(month) for month in range(first, last + 1)]
    return UsageGrid(starts, _without_empty_keys(grid))


def _grid_rows(
    connection: Connection,
    table: sa.Table,
    where: tuple[sa.ColumnElement[bool], ...],
    cells: Sequence[sa.ColumnElement[Any]],
    cluster: str | None,
) -> list[_Row]:
    """(service account, direction, *cells) of the rows `where` selects, on `cluster` or all.

    Only the cells a report needs are read: a 7-day report reads 7 of 31 day columns.
    """
    query = sa.select(table.c.service_account, table.c.direction, *cells).where(*where)
    if cluster is not None:
        query = query.where(table.c.cluster == cluster)
    return list(connection.execute(query).all())


def _add_rows(grid: _Grid, rows: list[_Row], first_bucket: int, bucket_count: int) -> None:
    """Add each row's cells to its key's buckets from `first_bucket` on.

    Slices, not loops over cells: a 30-day report has ~10**5 cells.
    """
    for row in rows:
        cells = row[2:]
        end_bucket = first_bucket + len(cells)
        key = (row[0], _DIRECTIONS[row[1]])
        values = grid.get(key)
        if values is None:
            values = grid[key] = [0] * bucket_count
        current = values[first_bucket:end_bucket]
        # The same key again is another cluster's row: add to what is there.
        values[first_bucket:end_bucket] = list(map(add, current, cells)) if any(current) else cells


def _without_empty_keys(grid: _Grid) -> _Grid:
    return {key: values for key, values in grid.items() if any(values)}
