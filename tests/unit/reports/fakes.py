"""A reference usage source for the engine's unit tests.

`RecordSource` lays raw UsageRecords out per local day or month with plain zoneinfo
arithmetic, written here independently of the store, so engine tests can state their
expectations from the raw rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from chargeback.pricing import PriceSettings
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord


@dataclass(frozen=True)
class Grid:
    """What the store's UsageGrid carries."""

    bucket_starts: list[date]
    bytes_by_key: dict[tuple[str, Direction], list[int]]


@dataclass
class RecordSource:
    """Answers daily/monthly usage from a list of raw records, like the store does."""

    records: list[UsageRecord] = field(default_factory=list)
    prices: PriceSettings = field(default_factory=PriceSettings)
    calls: list[tuple[str, str, date, date, str | None]] = field(default_factory=list)

    def daily_grid(self, zone: str, first_day: date, last_day: date, cluster: str | None) -> Grid:
        self.calls.append(("daily", zone, first_day, last_day, cluster))
        days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
        return self._grid(zone, days, last_day, cluster, lambda day: day)

    def monthly_grid(
        self, zone: str, first_month: date, last_day: date, cluster: str | None
    ) -> Grid:
        self.calls.append(("monthly", zone, first_month, last_day, cluster))
        months = sorted(
            {
                (first_month + timedelta(days=n)).replace(day=1)
                for n in range((last_day - first_month).days + 1)
            }
        )
        return self._grid(zone, months, last_day, cluster, lambda day: day.replace(day=1))

    def get_prices(self) -> PriceSettings:
        return self.prices

    def _grid(
        self,
        zone: str,
        starts: list[date],
        last_day: date,
        cluster: str | None,
        bucket_of: Callable[[date], date],
    ) -> Grid:
        index_of = {start: index for index, start in enumerate(starts)}
        rows: dict[tuple[str, Direction], list[int]] = defaultdict(lambda: [0] * len(starts))
        for record in self.records:
            local_day = record.window_start_utc.astimezone(ZoneInfo(zone)).date()
            if starts[0] <= local_day <= last_day and cluster in (None, record.cluster):
                key = (record.service_account, record.direction)
                rows[key][index_of[bucket_of(local_day)]] += record.bytes
        # Like the store: keys without bytes in any bucket are left out.
        return Grid(starts, {key: row for key, row in rows.items() if any(row)})


def record(
    service_account: str,
    direction: Direction,
    at_utc: datetime,
    byte_count: int,
    *,
    cluster: str = "main",
    topic: str = "orders",
) -> UsageRecord:
    """One usage record in the window starting at `at_utc` (must be a quarter hour)."""
    return UsageRecord(
        cluster=ClusterName(cluster),
        service_account=Principal(service_account),
        topic=TopicName(topic),
        direction=direction,
        window_start_utc=at_utc.astimezone(UTC),
        bytes=byte_count,
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def source_of(records: Iterable[UsageRecord], prices: PriceSettings | None = None) -> RecordSource:
    return RecordSource(list(records), prices or PriceSettings())
