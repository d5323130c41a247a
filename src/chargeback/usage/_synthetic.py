"""Synthetic usage: a deterministic, seeded generator for the benchmark and the demo's history.

The same `SyntheticUsage` always yields the same records, day by day, so a benchmark run can be
repeated and any one day can be made without making the days before it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from chargeback.usage._records import (
    WINDOW_SECONDS,
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageRecord,
)

WINDOWS_PER_DAY = 86_400 // WINDOW_SECONDS
# Each service account uses a few topics, in both directions; a window holds distinct
# (account, topic, direction) keys, so it can hold at most accounts × this many records.
TOPICS_PER_ACCOUNT = 4
_KEYS_PER_ACCOUNT = TOPICS_PER_ACCOUNT * 2
# A large prime step walks the key space without repeating a key within one window.
_KEY_STEP = 1_000_003


@dataclass(frozen=True, slots=True)
class SyntheticUsage:
    """What to generate: `rows` records spread evenly over `days` UTC days ending `last_day`.

    Account sizes follow a power law (a few heavy users, many light ones), as real fleets do.
    """

    rows: int = 20_000_000
    days: int = 400
    service_accounts: int = 2_000
    topics: int = 500
    clusters: int = 2
    last_day: date = date(2026, 11, 30)
    seed: int = 1

    def __post_init__(self) -> None:
        if min(self.rows, self.days, self.service_accounts, self.topics, self.clusters) < 1:
            raise ValueError(f"every count of {self} must be at least 1")
        per_window = math.ceil(self.rows / (self.days * WINDOWS_PER_DAY))
        if per_window > self.service_accounts * _KEYS_PER_ACCOUNT:
            raise ValueError(
                f"{self.rows} rows need {per_window} records per 15-minute window, more than "
                f"{self.service_accounts} accounts × {_KEYS_PER_ACCOUNT} keys can hold"
            )

    @property
    def first_day(self) -> date:
        """The first UTC day with usage."""
        return self.last_day - timedelta(days=self.days - 1)


def synthetic_days(usage: SyntheticUsage) -> Iterator[tuple[date, list[UsageRecord]]]:
    """Yield (UTC day, its records) for every day, oldest first; `usage.rows` records in all."""
    for day_index in range(usage.days):
        yield usage.first_day + timedelta(days=day_index), synthetic_day(usage, day_index)


def synthetic_day(usage: SyntheticUsage, day_index: int) -> list[UsageRecord]:
    """The records of day number `day_index` (0 = first day), the same on every call."""
    rng = random.Random(usage.seed * 1_000_003 + day_index)
    weights = _account_bytes_per_window(usage)
    day_start = datetime.combine(
        usage.first_day + timedelta(days=day_index), datetime.min.time(), UTC
    )
    records: list[UsageRecord] = []
    for window_index, row_count in enumerate(_rows_per_window(usage, day_index)):
        window_start_utc = day_start + timedelta(seconds=window_index * WINDOW_SECONDS)
        records.extend(_window_records(usage, rng, weights, window_start_utc, row_count))
    return records


def _rows_per_window(usage: SyntheticUsage, day_index: int) -> list[int]:
    """Spread the rows evenly over all windows of all days; earlier windows take the rest."""
    total_windows = usage.days * WINDOWS_PER_DAY
    base, extra = divmod(usage.rows, total_windows)
    first = day_index * WINDOWS_PER_DAY
    return [base + (1 if first + w < extra else 0) for w in range(WINDOWS_PER_DAY)]


def _window_records(
    usage: SyntheticUsage,
    rng: random.Random,
    weights: list[float],
    window_start_utc: datetime,
    row_count: int,
) -> Iterator[UsageRecord]:
    key_count = usage.service_accounts * _KEYS_PER_ACCOUNT
    offset = rng.randrange(key_count)
    step = _KEY_STEP % key_count or 1
    while math.gcd(step, key_count) != 1:
        step += 1
    for k in range(row_count):
        key = (offset + k * step) % key_count
        account, slot = divmod(key, _KEYS_PER_ACCOUNT)
        topic_slot, direction_bit = divmod(slot, 2)
        # Consumers read what they subscribe to several times over: egress exceeds ingress.
        fan_out = 1.0 if direction_bit == 0 else 1.0 + 2.0 * rng.random()
        yield UsageRecord(
            cluster=ClusterName(f"cluster-{account % usage.clusters + 1}"),
            service_account=Principal(f"svc-{account:05d}"),
            topic=TopicName(f"topic-{(account * 7 + topic_slot * 131) % usage.topics:04d}"),
            direction=Direction.INGRESS if direction_bit == 0 else Direction.EGRESS,
            window_start_utc=window_start_utc,
            bytes=int(weights[account] * fan_out * (0.5 + rng.random())),
        )


def _account_bytes_per_window(usage: SyntheticUsage) -> list[float]:
    """Typical bytes per window of each account: 1 GB for the largest, falling as rank^-1.2."""
    return [1e9 / (rank + 1) ** 1.2 for rank in range(usage.service_accounts)]
