"""Per-zone rollups: building them for a new zone, and reading daily and monthly totals.

`usage_daily` and `usage_monthly` hold, per materialized zone, the bytes of every (cluster,
service account, direction) per local day and per local month. Writes keep them current
(`_usage_writes.add_to_rollups`); a zone asked for the first time is built here from raw usage.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chargeback.store import _tables as t
from chargeback.store._rows import UsageTotal
from chargeback.store._zones import (
    SECONDS_PER_DAY,
    day_number,
    day_start,
    load_zone,
    month_ends,
    month_number,
    month_start,
    offset_segments,
)
from chargeback.usage import Direction

_DIRECTIONS = {direction.value: direction for direction in Direction}


def is_materialized(connection: Connection, zone: str) -> bool:
    """Tell whether `zone`'s rollups exist."""
    found = connection.execute(
        sa.select(t.rollup_zones.c.zone).where(t.rollup_zones.c.zone == zone)
    ).first()
    return found is not None


def materialize(connection: Connection, zone: str) -> bool:
    """Build `zone`'s rollups from raw usage, unless they exist; return True if built now."""
    load_zone(zone)  # refuse an unknown zone before taking any lock
    if connection.dialect.name == "postgresql":
        # SHARE conflicts with the ROW EXCLUSIVE lock writers hold on `usage`: wait for the
        # writes in flight, keep new ones out until this zone is listed, then they update it.
        connection.execute(sa.text("LOCK TABLE usage IN SHARE MODE"))
    if is_materialized(connection, zone):
        return False
    first_s, last_s = connection.execute(
        sa.select(
            sa.func.min(t.usage.c.window_start_utc_s), sa.func.max(t.usage.c.window_start_utc_s)
        )
    ).one()
    if first_s is not None:
        _build_daily(connection, zone, first_s, last_s)
        _build_monthly(connection, zone, first_s, last_s)
    connection.execute(
        sa.insert(t.rollup_zones).values(zone=zone, materialized_at_utc=datetime.now(UTC))
    )
    return True


def _build_daily(connection: Connection, zone: str, first_s: int, last_s: int) -> None:
    segments = offset_segments(load_zone(zone), first_s, last_s)
    window = t.usage.c.window_start_utc_s
    offset_s = _piecewise(window, segments)
    local_day = ((window + offset_s) // _integer(SECONDS_PER_DAY)).label("local_day")
    columns = [t.usage.c.cluster, t.usage.c.service_account, t.usage.c.direction]
    daily = sa.select(
        sa.literal(zone, sa.Text), local_day, *columns, sa.func.sum(t.usage.c.bytes)
    ).group_by(sa.literal_column("local_day"), *columns)
    connection.execute(
        sa.insert(t.usage_daily).from_select(
            ["zone", "local_day", "cluster", "service_account", "direction", "bytes"], daily
        )
    )


def _build_monthly(connection: Connection, zone: str, first_s: int, last_s: int) -> None:
    # Days cover at most first_s - 14 h to last_s + 14 h: the widest offsets there are.
    ends = month_ends((first_s // SECONDS_PER_DAY) - 1, (last_s // SECONDS_PER_DAY) + 1)
    day = t.usage_daily.c.local_day
    # Month m + 1 starts on the day month m ends; the first month covers everything before.
    starts = [(ends[0][0] - 1, ends[0][1])] + [(end, month + 1) for end, month in ends[:-1]]
    local_month = _piecewise(day, starts).label("local_month")
    columns = [t.usage_daily.c.cluster, t.usage_daily.c.service_account, t.usage_daily.c.direction]
    monthly = (
        sa.select(
            sa.literal(zone, sa.Text), local_month, *columns, sa.func.sum(t.usage_daily.c.bytes)
        )
        .where(t.usage_daily.c.zone == zone)
        .group_by(sa.literal_column("local_month"), *columns)
    )
    connection.execute(
        sa.insert(t.usage_monthly).from_select(
            ["zone", "local_month", "cluster", "service_account", "direction", "bytes"], monthly
        )
    )


def _piecewise(
    column: sa.ColumnElement[int], pieces: list[tuple[int, int]]
) -> sa.ColumnElement[int]:
    """The value of the last (start, value) piece whose start is at most `column`.

    `pieces` are sorted by start; the first covers everything before the second. Numbers are
    written into the SQL: they are ints we computed, and a query with hundreds of bound
    parameters per row is slower to plan.
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


def daily_totals(
    connection: Connection, zone: str, first_day: date, last_day: date, cluster: str | None
) -> list[UsageTotal]:
    """Bytes per (service account, direction, local day) from `first_day` to `last_day`."""
    daily = t.usage_daily.c
    query = (
        sa.select(daily.service_account, daily.direction, daily.local_day, sa.func.sum(daily.bytes))
        .where(daily.zone == zone)
        .where(daily.local_day.between(day_number(first_day), day_number(last_day)))
        .group_by(daily.service_account, daily.direction, daily.local_day)
    )
    if cluster is not None:
        query = query.where(daily.cluster == cluster)
    days: dict[int, date] = {}
    totals = []
    for account, direction, day, byte_count in connection.execute(query):
        bucket = days.get(day)
        if bucket is None:
            bucket = days[day] = day_start(day)
        totals.append(UsageTotal(account, _DIRECTIONS[direction], bucket, int(byte_count)))
    return totals


def monthly_totals(
    connection: Connection, zone: str, first_month: date, last_day: date, cluster: str | None
) -> list[UsageTotal]:
    """Bytes per (service account, direction, local month), the last month up to `last_day`.

    Complete months come from the month rollup; the month of `last_day` from its days.
    """
    first, last = month_number(first_month), month_number(last_day)
    if first > last:
        return []
    totals = _complete_months(connection, zone, first, last - 1, cluster) if first < last else []
    partial = t.usage_daily.c
    query = (
        sa.select(partial.service_account, partial.direction, sa.func.sum(partial.bytes))
        .where(partial.zone == zone)
        .where(partial.local_day.between(day_number(month_start(last)), day_number(last_day)))
        .group_by(partial.service_account, partial.direction)
    )
    if cluster is not None:
        query = query.where(partial.cluster == cluster)
    bucket = month_start(last)
    totals.extend(
        UsageTotal(account, _DIRECTIONS[direction], bucket, int(byte_count))
        for account, direction, byte_count in connection.execute(query)
    )
    return totals


def _complete_months(
    connection: Connection, zone: str, first: int, last: int, cluster: str | None
) -> list[UsageTotal]:
    monthly = t.usage_monthly.c
    query = (
        sa.select(
            monthly.service_account,
            monthly.direction,
            monthly.local_month,
            sa.func.sum(monthly.bytes),
        )
        .where(monthly.zone == zone)
        .where(monthly.local_month.between(first, last))
        .group_by(monthly.service_account, monthly.direction, monthly.local_month)
    )
    if cluster is not None:
        query = query.where(monthly.cluster == cluster)
    return [
        UsageTotal(account, _DIRECTIONS[direction], month_start(month), int(byte_count))
        for account, direction, month, byte_count in connection.execute(query)
    ]
