"""Which records of a usage batch would take a stored count past MAX_BYTES.

A write adds each record to several counts: its raw window, and its local day and local month
in every materialized zone. When a sum would pass MAX_BYTES the write stops whole
(`CountOverflowError`), but its sums cannot say which records to blame. This slow path, run only
after such a refusal, names them: records are taken in batch order, and a record is refused
when it would take one of its counts (the bytes stored plus the records accepted before it)
past the limit. The records it accepts fit together, so a caller (the gateway's flusher) can
set the others aside and write the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chargeback.store import _tables as t
from chargeback.store._usage_writes import (
    BYTES_LIMIT,
    RawKey,
    check_record,
    describe_raw_key,
    local_day_text,
    local_month_text,
)
from chargeback.store._zones import day_start, local_day_of, month_number
from chargeback.usage import MAX_BYTES, UsageRecord

# Row keys per SELECT: well within either database's limit on bound parameters.
_READ_CHUNK_ROWS = 500
_TABLES = {table.name: table for table in (t.usage, t.usage_days, t.usage_months)}


@dataclass(frozen=True, slots=True)
class _Count:
    """One stored count: column `column` of the row of `table` whose primary key is `row_key`."""

    table: str
    row_key: tuple[object, ...]
    column: str
    what: str = field(compare=False)  # how a message names it


def overflowing_records(connection: Connection, records: Sequence[UsageRecord]) -> dict[int, str]:
    """Return index (from 0) -> reason for each record that would take a count past MAX_BYTES.

    `records` are valid (`check_record` accepts each); the records not returned fit together.
    """
    zones = list(connection.execute(sa.select(t.rollup_zones.c.zone)).scalars())
    counts_per_record = _counts_per_record(records, zones)
    totals = _stored_counts(connection, (c for counts in counts_per_record for c in counts))
    refused: dict[int, str] = {}
    for index, (record, counts) in enumerate(zip(records, counts_per_record, strict=True)):
        passing = [count for count in counts if totals.get(count, 0) + record.bytes > MAX_BYTES]
        if passing:
            total = totals.get(passing[0], 0) + record.bytes
            refused[index] = (
                f"record {index + 1}: {passing[0].what} would add up to {total}, "
                f"more than {BYTES_LIMIT}"
            )
            continue
        for count in counts:
            totals[count] = totals.get(count, 0) + record.bytes
    return refused


def _counts_per_record(records: Sequence[UsageRecord], zones: list[str]) -> list[list[_Count]]:
    windows: dict[datetime, int] = {}
    names: set[str] = set()
    loaded = {zone: ZoneInfo(zone) for zone in zones}
    counts_per_record = []
    for record in records:
        key = check_record(record, windows, names)
        counts = [_Count("usage", key, "bytes", f"the bytes of {describe_raw_key(key)}")]
        for zone in zones:
            counts.extend(_rollup_counts(key, zone, loaded[zone]))
        counts_per_record.append(counts)
    return counts_per_record


def _rollup_counts(key: RawKey, zone_name: str, zone: ZoneInfo) -> tuple[_Count, _Count]:
    """The local-day and local-month counts of `zone_name` that the window of `key` adds to."""
    cluster, account, _topic, direction, window_s = key
    day = local_day_of(zone, window_s)
    local_date = day_start(day)
    month = month_number(local_date)
    whose = f"the {direction} bytes of service account {account!r} on cluster {cluster!r}"
    return (
        _Count(
            "usage_days",
            (zone_name, month, cluster, account, direction),
            t.DAY_COLUMNS[local_date.day - 1],
            f"{whose} in {local_day_text(day)} ({zone_name})",
        ),
        _Count(
            "usage_months",
            (zone_name, month // 12, cluster, account, direction),
            t.MONTH_COLUMNS[month % 12],
            f"{whose} in {local_month_text(month)} ({zone_name})",
        ),
    )


def _stored_counts(connection: Connection, counts: Iterable[_Count]) -> dict[_Count, int]:
    """The stored value of each of `counts` that has a row (a count without one is zero)."""
    wanted: dict[str, dict[tuple[object, ...], set[_Count]]] = defaultdict(lambda: defaultdict(set))
    for count in counts:
        wanted[count.table][count.row_key].add(count)
    stored: dict[_Count, int] = {}
    for table_name, counts_by_row in wanted.items():
        table = _TABLES[table_name]
        key_columns = list(table.primary_key.columns)
        row_keys = list(counts_by_row)
        for start in range(0, len(row_keys), _READ_CHUNK_ROWS):
            chunk = row_keys[start : start + _READ_CHUNK_ROWS]
            rows = connection.execute(sa.select(table).where(sa.tuple_(*key_columns).in_(chunk)))
            for row in rows.mappings():
                row_key = tuple(row[column.name] for column in key_columns)
                for count in counts_by_row[row_key]:
                    stored[count] = int(row[count.column])
    return stored
