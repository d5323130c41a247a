"""Writing usage: validation, the batch id, raw rows and the rollups of every materialized zone.

Everything a write changes happens in the caller's one transaction, so raw usage and rollups
never disagree and a batch id is stored exactly when its rows are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from chargeback.store import _tables as t
from chargeback.store._errors import StoreError
from chargeback.store._zones import day_start, local_day_of, month_number
from chargeback.usage import WINDOW_SECONDS, Direction, UsageRecord

# (cluster, service_account, topic, direction, window_start_utc_s)
RawKey = tuple[str, str, str, str, int]
# (cluster, service_account, direction, local month or year)
RollupKey = tuple[str, str, str, int]
# A StrEnum hashes as its text, so plain "ingress" finds its entry too.
_DIRECTION_TEXT: dict[object, str] = {direction: direction.value for direction in Direction}
# Rows per INSERT statement list: bounds memory while importing millions of rows.
WRITE_CHUNK_ROWS = 20_000


def check_record(record: UsageRecord, where: str, windows: dict[datetime, int]) -> RawKey:
    """Return the raw key of a valid record; `windows` caches checked window starts.

    Raises:
        StoreError: the record is invalid; the message starts with `where`.
    """
    cluster, account, topic = record.cluster, record.service_account, record.topic
    if not (type(cluster) is str and cluster and type(account) is str and account):
        _refuse_names(record, where)
    if not (type(topic) is str and topic):
        _refuse_names(record, where)
    direction = _DIRECTION_TEXT.get(record.direction)
    if direction is None:
        raise StoreError(f"{where}: direction {record.direction!r} is not ingress or egress")
    byte_count = record.bytes
    if type(byte_count) is not int or byte_count < 0:
        raise StoreError(f"{where}: bytes {byte_count!r} is not a non-negative integer")
    window = record.window_start_utc
    window_s = windows.get(window)
    if window_s is None:
        window_s = windows[window] = _window_seconds(window, where)
    return (cluster, account, topic, direction, window_s)


def _refuse_names(record: UsageRecord, where: str) -> None:
    for field in ("cluster", "service_account", "topic"):
        value = getattr(record, field)
        if not isinstance(value, str) or not value:
            raise StoreError(f"{where}: {field} {value!r} is not a non-empty string")


def _window_seconds(window_start_utc: datetime, where: str) -> int:
    if not isinstance(window_start_utc, datetime) or window_start_utc.tzinfo is None:
        raise StoreError(f"{where}: window start {window_start_utc!r} has no time zone")
    seconds = window_start_utc.timestamp()
    if seconds < 0:
        raise StoreError(f"{where}: window start {window_start_utc.isoformat()} is before 1970")
    if seconds % WINDOW_SECONDS:
        raise StoreError(
            f"{where}: window start {window_start_utc.isoformat()} is not on a "
            f"{WINDOW_SECONDS // 60}-minute boundary"
        )
    return int(seconds)


def sum_records(records: Iterable[UsageRecord], where: str) -> dict[RawKey, int]:
    """Validate `records` and add up the bytes of records with the same key."""
    totals: dict[RawKey, int] = defaultdict(int)
    windows: dict[datetime, int] = {}
    for number, record in enumerate(records, start=1):
        try:
            key = check_record(record, "", windows)
        except StoreError as error:
            raise StoreError(f"{where}, record {number}{error}") from None
        totals[key] += record.bytes
    return totals


def refused_records(records: Sequence[UsageRecord]) -> dict[int, str]:
    """Return index (from 0) -> reason for every invalid record of `records`.

    The slow path after `sum_records` refused a batch: it names every bad record, not just the
    first, so that a caller can set them aside in one go.
    """
    refused: dict[int, str] = {}
    windows: dict[datetime, int] = {}
    for index, record in enumerate(records):
        try:
            check_record(record, f"record {index + 1}", windows)
        except StoreError as error:
            refused[index] = str(error)
    return refused


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
    add_day_sums(connection, zone_name, day_sums.items())


def add_day_sums(
    connection: Connection, zone_name: str, day_sums: Iterable[tuple[RollupKey, int]]
) -> None:
    """Add bytes per (cluster, account, direction, local day) to `zone_name`'s rollups."""
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
    month_cells: list[tuple[object, ...]] = [
        (cluster, account, direction, month // 12, month % 12, byte_count)
        for (cluster, account, direction, month), byte_count in month_sums.items()
    ]
    for table, cells in ((t.usage_days, day_cells), (t.usage_months, month_cells)):
        statement = _cells_upsert_sql(table)
        for start in range(0, len(cells), WRITE_CHUNK_ROWS):
            chunk = cells[start : start + WRITE_CHUNK_ROWS]
            connection.exec_driver_sql(statement, (zone_name, *_columns(chunk)))


def _cells_upsert_sql(table: sa.Table) -> str:
    columns = [column.name for column in table.columns]
    buckets = columns[5:]
    keys = [column.name for column in table.primary_key.columns]
    pivot = ", ".join(
        f"sum(CASE WHEN bucket = {index} THEN bytes ELSE 0 END)" for index in range(len(buckets))
    )
    sums = ", ".join(f"{name} = {table.name}.{name} + excluded.{name}" for name in buckets)
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
        if is_postgresql:
            connection.exec_driver_sql(statement, _columns(chunk))
        else:
            connection.exec_driver_sql(statement, chunk)


def _upsert_sql(table: sa.Table, is_postgresql: bool) -> str:
    columns = [column.name for column in table.columns]
    keys = [column.name for column in table.primary_key.columns]
    if is_postgresql:
        arrays = ", ".join(f"%s::{_sql_type(column)}[]" for column in table.columns)
        values = f"SELECT * FROM unnest({arrays})"  # noqa: S608 (types from our tables)
    else:
        values = f"VALUES ({', '.join(['?'] * len(columns))})"
    sums = ", ".join(
        f"{name} = {table.name}.{name} + excluded.{name}" for name in columns if name not in keys
    )
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) {values} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums}"
    )


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
