"""A reference usage source for the engine's unit tests.

`RecordSource` buckets raw UsageRecords into local days and months with plain zoneinfo
arithmetic, written here independently of the store, so engine tests can state their
expectations from the raw rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from chargeback.pricing import PriceSettings
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord


@dataclass(frozen=True)
class Total:
    """What the store's UsageTotal carries."""

    service_account: str
    direction: Direction
    bucket_start: date
    bytes: int


@dataclass
class RecordSource:
    """Answers daily/monthly usage from a list of raw records, like the store does."""

    records: list[UsageRecord] = field(default_factory=list)
    prices: PriceSettings = field(default_factory=PriceSettings)
    calls: list[tuple[str, str, date, date, str | None]] = field(default_factory=list)

    def daily_usage(
        self, zone: str, first_day: date, last_day: date, cluster: str | None
    ) -> list[Total]:
        self.calls.append(("daily", zone, first_day, last_day, cluster))
        return self._totals(zone, first_day, last_day, cluster, lambda day: day)

    def monthly_usage(
        self, zone: str, first_month: date, last_day: date, cluster: str | None
    ) -> list[Total]:
        self.calls.append(("monthly", zone, first_month, last_day, cluster))
        return self._totals(zone, first_month, last_day, cluster, lambda day: day.replace(day=1))

    def get_prices(self) -> PriceSettings:
        return self.prices

    def _totals(
        self,
        zone: str,
        first_day: date,
        last_day: date,
        cluster: str | None,
        bucket_of: Callable[[date], date],
    ) -> list[Total]:
        sums: dict[tuple[str, Direction, date], int] = defaultdict(int)
        for record in self.records:
            local_day = record.window_start_utc.astimezone(ZoneInfo(zone)).date()
            if first_day <= local_day <= last_day and cluster in (None, record.cluster):
                key = (record.service_account, record.direction, bucket_of(local_day))
                sums[key] += record.bytes
        return [Total(sa, d, start, n) for (sa, d, start), n in sums.items()]


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
