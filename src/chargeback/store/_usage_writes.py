"""Writing usage: validation, the batch id, raw rows and the rollups of every materialized zone.

Everything a write changes happens in the caller's one transaction, so raw usage and rollups
never disagree and a batch id is stored exactly when its rows are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
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
# (cluster, service_account, direction, local day or month)
RollupKey = tuple[str, str, str, int]
# Rows per INSERT statement list: bounds memory while importing millions of rows.
WRITE_CHUNK_ROWS = 20_000


def check_record(record: UsageRecord, where: str) -> RawKey:
    """Return the raw key of a valid record.

    Raises:
        StoreError: the record is invalid; the message starts with `where`.
    """
    for field in ("cluster", "service_account", "topic"):
        value = getattr(record, field)
        if not isinstance(value, str) or not value:
            raise StoreError(f"{where}: {field} {value!r} is not a non-empty string")
    if not isinstance(record.direction, Direction):
        raise StoreError(f"{where}: direction {record.direction!r} is not ingress or egress")
    byte_count = record.bytes
    if not isinstance(byte_count, int) or isinstance(byte_count, bool) or byte_count < 0:
        raise StoreError(f"{where}: bytes {byte_count!r} is not a non-negative integer")
    return (
        record.cluster,
        record.service_account,
        record.topic,
        record.direction.value,
        _window_seconds(record.window_start_utc, where),
    )


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
    for number, record in enumerate(records, start=1):
        totals[check_record(record, f"{where}, record {number}")] += record.bytes
    return totals


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
    raw_rows = [
        {
            "cluster": cluster,
            "service_account": account,
            "topic": topic,
            "direction": direction,
            "window_start_utc_s": window_s,
            "bytes": byte_count,
        }
        for (cluster, account, topic, direction, window_s), byte_count in totals.items()
    ]
    _upsert_adding(connection, t.usage, raw_rows)
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
    day_cache: dict[int, int] = {}
    days: dict[RollupKey, int] = defaultdict(int)
    for (cluster, account, _topic, direction, window_s), byte_count in totals.items():
        day = day_cache.get(window_s)
        if day is None:
            day = day_cache[window_s] = local_day_of(zone, window_s)
        days[(cluster, account, direction, day)] += byte_count
    months: dict[RollupKey, int] = defaultdict(int)
    month_cache: dict[int, int] = {}
    for (cluster, account, direction, day), byte_count in days.items():
        month = month_cache.get(day)
        if month is None:
            month = month_cache[day] = month_number(day_start(day))
        months[(cluster, account, direction, month)] += byte_count
    _upsert_adding(connection, t.usage_daily, _rollup_rows(zone_name, "local_day", days))
    _upsert_adding(connection, t.usage_monthly, _rollup_rows(zone_name, "local_month", months))


def _rollup_rows(zone: str, bucket: str, sums: Mapping[RollupKey, int]) -> list[dict[str, object]]:
    return [
        {
            "zone": zone,
            bucket: number,
            "cluster": cluster,
            "service_account": account,
            "direction": direction,
            "bytes": byte_count,
        }
        for (cluster, account, direction, number), byte_count in sums.items()
    ]


def _upsert_adding(connection: Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    """Insert `rows`; where a row's key exists, add its bytes to the stored bytes."""
    insert = _insert(connection, table)
    statement = insert.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key.columns],
        set_={"bytes": table.c.bytes + insert.excluded.bytes},
    )
    for start in range(0, len(rows), WRITE_CHUNK_ROWS):
        connection.execute(statement, rows[start : start + WRITE_CHUNK_ROWS])


def _insert(connection: Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
