"""A small, hand-checkable usage data set shared by the console and browser tests.

As of 2026-11-30 (UTC), prices 0.10 USD per produced GB and 0.05 USD per consumed GB
(1 GB = 10^9 bytes), the 7D Overall Cost view is, by hand:

    account   11-24    11-25..11-27  11-28  11-29  11-30  total
    orders    0        0             0      0.05   0.30   0.35
    billing   0        0             0.05   0      0.10   0.15
    =evil     0.00015  0             0      0      0      0.00015

`billing`'s egress at 20:00 UTC on 11-30 is 01:45 on 12-01 in Asia/Kathmandu (+5:45), so in
that zone it falls outside the period. `Audit` used the cluster only in October.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from chargeback.pricing import GbUnit, PriceSettings
from chargeback.store import Store
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord

AS_OF = date(2026, 11, 30)
PRICES = PriceSettings(
    ingress_per_gb=Decimal("0.10"),
    egress_per_gb=Decimal("0.05"),
    currency="USD",
    gb_unit=GbUnit.DECIMAL,
)
SEVEN_DAYS = [f"2026-11-{day}" for day in range(24, 31)]


def record(
    cluster: str, account: str, direction: Direction, at: datetime, byte_count: int
) -> UsageRecord:
    return UsageRecord(
        cluster=ClusterName(cluster),
        service_account=Principal(account),
        topic=TopicName(f"{account}-topic"),
        direction=direction,
        window_start_utc=at,
        bytes=byte_count,
    )


RECORDS = [
    record("east", "orders", Direction.INGRESS, datetime(2026, 11, 30, 10, tzinfo=UTC), 3 * 10**9),
    record("east", "orders", Direction.EGRESS, datetime(2026, 11, 29, 12, tzinfo=UTC), 1 * 10**9),
    record("west", "billing", Direction.INGRESS, datetime(2026, 11, 28, 8, tzinfo=UTC), 5 * 10**8),
    record("west", "billing", Direction.EGRESS, datetime(2026, 11, 30, 20, tzinfo=UTC), 2 * 10**9),
    record(
        "east", "=evil", Direction.INGRESS, datetime(2026, 11, 24, 0, 15, tzinfo=UTC), 1_500_000
    ),
    record("east", "Audit", Direction.EGRESS, datetime(2026, 10, 15, 9, tzinfo=UTC), 4 * 10**9),
]


def seed(store: Store) -> Store:
    """Write RECORDS and PRICES into `store`."""
    store.write_usage("console-seed", RECORDS)
    store.set_prices(PRICES)
    return store
