"""Writing usage: validation, the batch id, raw rows and the rollups of every materialized zone.

Everything a write changes happens in the caller's one transaction, so raw usage and rollups
never disagree and a batch id is stored exactly when its rows are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from chargeback.store import _tables as t
from chargeback.store._errors import CountOverflowError, RecordError, StoreError
from chargeback.store._zones import day_start, local_day_of, month_number, month_start
from chargeback.usage import (
    MAX_BYTES,
    USAGE_ENDS_BEFORE_UTC,
    WINDOW_SECONDS,
    Direction,
    UsageRecord,
    name_fault,
)

# (cluster, service_account, topic, direction, window_start_utc_s)
RawKey = tuple[str, str, str, str, int]
# (cluster, service_account, direction, local month or year)
RollupKey = tuple[str, str, str, int]
# A StrEnum hashes as its text, so plain "ingress" finds its entry too.
_DIRECTION_TEXT: dict[object, str] = {direction: direction.value for direction in Direction}
# Rows per INSERT statement list: bounds memory while importing millions of rows.
WRITE_CHUNK_ROWS = 20_000
_NAME_FIELDS = ("cluster", "service_account", "topic")
_ENDS_BEFORE_S = int(USAGE_ENDS_BEFORE_UTC.timestamp())
BYTES_LIMIT = f"{MAX_BYTES} (2**63 - 1), the most the store can count"


def check_record(record: UsageRecord, windows: dict[datetime, int], names: set[str]) -> RawKey:
    """Return the raw key of a valid record.

    `windows` and `names` remember the window starts and names already found valid: a batch
    repeats them thousands of times.

    Raises:
        StoreError: the record is invalid; the message is the reason.
    """
    cluster, account, topic = record.cluster, record.service_account, record.topic
    # type(), not isinstance(): a str subclass could hash and compare as it pleases.
    if not (
        type(cluster) is str
        and cluster in names
        and type(account) is str
        and account in names
        and type(topic) is str
        and topic in names
    ):
        _check_names(record, names)
    direction = _DIRECTION_TEXT.get(record.direction)
    if direction is None:
        raise StoreError(f"direction {record.direction!r} is not ingress or egress")
    byte_count = record.bytes
    if type(byte_count) is not int or byte_count < 0:
        raise StoreError(f"bytes {byte_count!r} is not a non-negative integer")
    if byte_count > MAX_BYTES:
        raise StoreError(f"bytes {byte_count} is more than {BYTES_LIMIT}")
    window = record.window_start_utc
    window_s = windows.get(window)
    if window_s is None:
        window_s = windows[window] = _window_seconds(window)
    return (cluster, account, topic, direction, window_s)


def _check_names(record: UsageRecord, names: set[str]) -> None:
    for field in _NAME_FIELDS:
        value = getattr(record, field)
        fault = name_fault(value) if type(value) is str else "is not a non-empty string"
        if fault is not None:
            raise StoreError(f"{field} {value!r} {fault}")
        names.add(value)


def _window_seconds(window_start_utc: datetime) -> int:
    if not isinstance(window_start_utc, datetime) or window_start_utc.tzinfo is None:
        raise StoreError(f"window start {window_start_utc!r} has no time zone")
    seconds = window_start_utc.timestamp()
    if seconds < 0:
        raise StoreError(f"window start {window_start_utc.isoformat()} is before 1970")
    if seconds >= _ENDS_BEFORE_S:
        raise StoreError(
            f"window start {window_start_utc.isoformat()} is not before "
            f"{USAGE_ENDS_BEFORE_UTC.isoformat()}, the latest usage the store keeps"
        )
    if seconds % WINDOW_SECONDS:
        raise StoreError(
            f"window start {window_start_utc.isoformat()} is not on a "
            f"{WINDOW_SECONDS // 60}-minute boundary"
        )
    return int(seconds)


def sum_records(
    records: Iterable[UsageRecord], where: str, first_number: int = 1
) -> dict[RawKey, int]:
    """Validate `records` and add up the bytes of records with the same key.

    Records are numbered from `first_number` in messages (an import passes its chunks here).

    Raises:
        RecordError: a record is invalid, or the bytes of its key add up past MAX_BYTES.
    """
    totals: dict[RawKey, int] = {}
    windows: dict[datetime, int] = {}
    names: set[str] = set()
    for number, record in enumerate(records, start=first_number):
        try:
            key = check_record(record, windows, names)
        except StoreError as error:
            raise RecordError(where, number, str(error)) from None
        total = totals.get(key, 0) + record.bytes
        if total > MAX_BYTES:
            reason = f"the bytes of {describe_raw_key(key)} add up to {total}, more than "
            raise RecordError(where, number, reason + BYTES_LIMIT)
        totals[key] = total
    return totals


def refused_records(records: Sequence[UsageRecord]) -> dict[int, str]:
    """Return index (from 0) -> reason for every invalid record of `records`.

    The slow path after `sum_records` refused a batch: it names every bad record, not just the
    first, so that a caller can set them aside in one go.
    """
    refused: dict[int, str] = {}
    windows: dict[datetime, int] = {}
    names: set[str] = set()
    for index, record in enumerate(records):
        try:
            check_record(record, windows, names)
        except StoreError as error:
            refused[index] = f"record {index + 1}: {error}"
    return refused


def describe_raw_key(key: RawKey) -> str:
    cluster, account, topic, direction, window_s = key
    window = datetime.fromtimestamp(window_s, tz=UTC).isoformat()
    return (
        f"cluster {cluster!r}, service account {account!r}, topic {topic!r}, {direction}, "
        f"window {window}"
    )


def _refuse_sums_past_the_limit(
    sums: Mapping[RollupKey, int], zone_name: str, period_of: Callable[[int], str]
) -> None:
    """Refuse rollup sums that a BIGINT cannot hold; `period_of` names a key's day or month.

    Raises:
        CountOverflowError: names the first such sum.
    """
    if not sums or max(sums.values()) <= MAX_BYTES:
        return
    for (cluster, account, direction, period), total in sums.items():
        if total > MAX_BYTES:
            raise CountOverflowError(
                f"the {direction} bytes of service account {account!r} on cluster "
                f"{cluster!r} in {period_of(period)} ({zone_name}) would add up to {total}, "
                f"more than {BYTES_LIMIT}; nothing of this write was stored"
            )


def local_day_text(day: int) -> str:
    return f"local day {day_start(day).isoformat()}"


def local_month_text(month: int) -> str:
    return f"local month {month_start(month).isoformat()[:7]}"


def claim_batch(connection: Connection, batch_id: str, record_count: int) -> bool:
    """Store `batch_id`; return False if it was stored before (then write nothing)."""
    if not isinstance(batch_id, str) or not batch_id:
        raise StoreError(f"batch id {batch_id!r} is not a non-empty string")
    row = {
        "batch_id": batch_id,
        "record_count": record_count,
        "written_at_utc": datetime.now(UTC),
    }
    claimed = connection.execute(
        _insert(connection, t.usage_batches)
        .values(row)
        .on_conflict_do_nothing()
        .returning(t.usage_batches.c.batch_id)
    ).first()
    return claimed is not None


def set_batch_record_count(connection: Connection, batch_id: str, record_count: int) -> None:
    """Record how many records a batch held once an import has counted them."""
    connection.execute(
        sa.update(t.usage_batches)
        .where(t.usage_batches.c.batch_id == batch_id)
        .values(record_count=record_count)
    )


def add_usage(connection: Connection, totals: Mapping[RawKey, int]) -> None:
    """Add `totals` to raw usage and to the rollups of every materialized zone."""
    if not totals:
        return
    _upsert_adding(connection, t.usage, [(*key, byte_count) for key, byte_count in totals.items()])
    clusters = sorted({key[0] for key in totals})
    connection.execute(
        _insert(connection, t.usage_clusters).on_conflict_do_nothing(),
        [{"cluster": cluster} for cluster in clusters],
    )
    # Read the zones only now: on PostgreSQL the insert above holds a lock on `usage` that a
    # zone being materialized waits for, so a zone is either listed here or built after us.
    for zone_name in connection.execute(sa.select(t.rollup_zones.c.zone)).scalars():
        add_to_rollups(connection, zone_name, totals)


def add_to_rollups(connection: Connection, zone_name: str, totals: Mapping[RawKey, int]) -> None:
    """Add raw `totals` to the local-day and local-month rollups of `zone_name`."""
    zone = ZoneInfo(zone_name)
    local_days: dict[int, int] = {}  # window -> local day (days since 1970)
    day_sums: dict[RollupKey, int] = defaultdict(int)
    for (cluster, account, _topic, direction, window_s), byte_count in totals.items():
        day = local_days.get(window_s)
        if day is None:
            day = local_days[window_s] = local_day_of(zone, window_s)
        day_sums[(cluster, account, direction, day)] += byte_count
    _refuse_sums_past_the_limit(day_sums, zone_name, local_day_text)
    add_day_sums(connection, zone_name, day_sums.items())


def add_day_sums(
    connection: Connection, zone_name: str, day_sums: Iterable[tuple[RollupKey, int]]
) -> None:
    """Add bytes per (cluster, account, direction, local day) to `zone_name`'s rollups.

    Each key and day comes once in `day_sums`, within MAX_BYTES.

    Raises:
        CountOverflowError: a local month's sum, or a stored day or month plus the new bytes,
            would pass MAX_BYTES.
    """
    if connection.dialect.name == "postgresql":
        _add_day_sums_as_cells(connection, zone_name, day_sums)
        return
    places: dict[int, tuple[int, int]] = {}  # local day -> (local month, day of month - 1)
    days: dict[RollupKey, list[int]] = {}  # (cluster, account, direction, month) -> 31 days
    for (cluster, account, direction, day), byte_count in day_sums:
        place = places.get(day)
        if place is None:
            local_date = day_start(day)
            place = places[day] = (month_number(local_date), local_date.day - 1)
        key = (cluster, account, direction, place[0])
        row = days.get(key)
        if row is None:
            row = days[key] = [0] * len(t.DAY_COLUMNS)
        row[place[1]] += byte_count
    months: dict[RollupKey, list[int]] = {}  # (cluster, account, direction, year) -> 12 months
    for (cluster, account, direction, month), row in days.items():
        year, month_of_year = divmod(month, 12)
        year_row = months.get((cluster, account, direction, year))
        if year_row is None:
            year_row = months[(cluster, account, direction, year)] = [0] * len(t.MONTH_COLUMNS)
        year_row[month_of_year] += sum(row)
    _refuse_sums_past_the_limit(
        {key: sum(row) for key, row in days.items()}, zone_name, local_month_text
    )
    _upsert_adding(connection, t.usage_days, _rollup_rows(zone_name, days))
    _upsert_adding(connection, t.usage_months, _rollup_rows(zone_name, months))


def _add_day_sums_as_cells(
    connection: Connection, zone_name: str, day_sums: Iterable[tuple[RollupKey, int]]
) -> None:
    """PostgreSQL: send (key, period, bucket, bytes) cells; the database lays them out in rows.

    Sending 31 day columns per row cost psycopg more time turning zeros into array text than
    the database spent on the upsert.
    """
    places: dict[int, tuple[int, int]] = {}  # local day -> (local month, day of month - 1)
    day_cells: list[tuple[object, ...]] = []
    month_sums: dict[tuple[str, str, str, int], int] = defaultdict(int)
    for (cluster, account, direction, day), byte_count in day_sums:
        place = places.get(day)
        if place is None:
            local_date = day_start(day)
            place = places[day] = (month_number(local_date), local_date.day - 1)
        day_cells.append((cluster, account, direction, place[0], place[1], byte_count))
        month_sums[(cluster, account, direction, place[0])] += byte_count
    _refuse_sums_past_the_limit(month_sums, zone_name, local_month_text)
    month_cells: list[tuple[object, ...]] = [
        (cluster, account, direction, month // 12, month % 12, byte_count)
        for (cluster, account, direction, month), byte_count in month_sums.items()
    ]
    for table, cells in ((t.usage_days, day_cells), (t.usage_months, month_cells)):
        statement = _cells_upsert_sql(table)
        for start in range(0, len(cells), WRITE_CHUNK_ROWS):
            chunk = cells[start : start + WRITE_CHUNK_ROWS]
            _execute_adding(connection, table, statement, (zone_name, *_columns(chunk)))


def _cells_upsert_sql(table: sa.Table) -> str:
    columns = [column.name for column in table.columns]
    buckets = columns[5:]
    keys = [column.name for column in table.primary_key.columns]
    pivot = ", ".join(
        f"sum(CASE WHEN bucket = {index} THEN bytes ELSE 0 END)" for index in range(len(buckets))
    )
    sums = ", ".join(_checked_sum(table, name) for name in buckets)
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 (our names)
        f"SELECT %s::text, period, cluster, service_account, direction, {pivot} "
        "FROM unnest(%s::text[], %s::text[], %s::text[], %s::integer[], %s::integer[], "
        "%s::bigint[]) AS cell(cluster, service_account, direction, period, bucket, bytes) "
        "GROUP BY period, cluster, service_account, direction "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums}"
    )


def _rollup_rows(zone: str, rows: Mapping[RollupKey, list[int]]) -> list[tuple[object, ...]]:
    return [
        (zone, period, cluster, account, direction, *buckets)
        for (cluster, account, direction, period), buckets in rows.items()
    ]


def _upsert_adding(connection: Connection, table: sa.Table, rows: list[tuple[object, ...]]) -> None:
    """Insert `rows` (values in column order); where a key exists, add to its stored counts.

    Plain DB-API calls: SQLAlchemy's per-row parameter processing cost more than the
    database's own work at the benchmark's 10**7 rows. SQLite takes one executemany; PostgreSQL
    one statement per chunk with each column as an array (a round trip per row was 10x slower).
    """
    is_postgresql = connection.dialect.name == "postgresql"
    statement = _upsert_sql(table, is_postgresql)
    for start in range(0, len(rows), WRITE_CHUNK_ROWS):
        chunk = rows[start : start + WRITE_CHUNK_ROWS]
        _execute_adding(connection, table, statement, _columns(chunk) if is_postgresql else chunk)


def _upsert_sql(table: sa.Table, is_postgresql: bool) -> str:
    columns = [column.name for column in table.columns]
    keys = [column.name for column in table.primary_key.columns]
    if is_postgresql:
        arrays = ", ".join(f"%s::{_sql_type(column)}[]" for column in table.columns)
        values = f"SELECT * FROM unnest({arrays})"  # noqa: S608 (types from our tables)
    else:
        values = f"VALUES ({', '.join(['?'] * len(columns))})"
    sums = ", ".join(_checked_sum(table, name) for name in columns if name not in keys)
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) {values} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums}"
    )


def _checked_sum(table: sa.Table, name: str) -> str:
    """`name = stored + new`, or NULL where the sum would pass MAX_BYTES.

    Neither database adds safely on its own (SQLite turns an overflowing sum into an inexact
    REAL, PostgreSQL raises an error that names no row), and neither can raise an error from
    an expression; every count column is NOT NULL, so the NULL makes the statement fail.
    """
    stored, new = f"{table.name}.{name}", f"excluded.{name}"
    return f"{name} = CASE WHEN {new} > {MAX_BYTES} - {stored} THEN NULL ELSE {stored} + {new} END"


_COUNTED_PER = {
    "usage": "cluster, service account, topic, direction and window",
    "usage_days": "cluster, service account, direction and local day",
    "usage_months": "cluster, service account, direction and local month",
}


def _execute_adding(
    connection: Connection, table: sa.Table, statement: str, parameters: Sequence[Any]
) -> None:
    """Run an upsert built with `_checked_sum`; its NOT NULL failure means an overflow.

    Raises:
        CountOverflowError: the stored bytes of some key plus the new ones would pass MAX_BYTES.
    """
    try:
        connection.exec_driver_sql(statement, parameters)
    except sa.exc.IntegrityError as error:
        raise CountOverflowError(
            f"the bytes already stored for one {_COUNTED_PER[table.name]} plus the new ones "
            f"would pass {BYTES_LIMIT}; nothing of this write was stored"
        ) from error


def _columns(rows: list[tuple[object, ...]]) -> tuple[list[object], ...]:
    """The rows as one list per column (PostgreSQL's unnest takes one array per column)."""
    return tuple(list(column) for column in zip(*rows, strict=True))


def _sql_type(column: sa.Column[object]) -> str:
    if isinstance(column.type, sa.BigInteger):
        return "bigint"
    if isinstance(column.type, sa.Integer):
        return "integer"
    return "text"


def _insert(connection: Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
