"""Synthetic usage history for the 13 months before today, under a cluster of its own.

The records come from the shared seeded generator (`chargeback.usage.synthetic_days`); only the
cluster is renamed, to `synthetic-history`, so that nobody mistakes it for measured traffic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

from chargeback.store import Store
from chargeback.usage import ClusterName, SyntheticUsage, UsageRecord, synthetic_days

SYNTHETIC_CLUSTER = ClusterName("synthetic-history")
HISTORY_MONTHS = 13
_SERVICE_ACCOUNTS = 12  # few enough that the page's chart and table stay readable
_TOPICS = 20
_RECORDS_PER_WINDOW = 2
_WINDOWS_PER_DAY = 96


def history_days(today: date) -> tuple[date, date]:
    """The first and last day of the 13 months before `today` (today itself excluded).

    >>> history_days(date(2026, 12, 3))
    (datetime.date(2025, 11, 3), datetime.date(2026, 12, 2))
    >>> history_days(date(2024, 3, 31))
    (datetime.date(2023, 2, 28), datetime.date(2024, 3, 30))
    """
    months = today.year * 12 + today.month - 1 - HISTORY_MONTHS
    year, month = divmod(months, 12)
    first_of_month = date(year, month + 1, 1)
    next_month = (first_of_month + timedelta(days=32)).replace(day=1)
    last_day_of_month = (next_month - timedelta(days=1)).day
    return first_of_month.replace(day=min(today.day, last_day_of_month)), today - timedelta(days=1)


def add_history(store: Store, say: Callable[[str], None], today: date | None = None) -> bool:
    """Add the synthetic history, once per store; return whether anything was added.

    Raises:
        StoreError: the store refused the records.
    """
    if SYNTHETIC_CLUSTER in store.clusters():
        say(f"Synthetic history: already in this data directory (cluster {SYNTHETIC_CLUSTER}).")
        return False
    first_day, last_day = history_days(today or datetime.now(UTC).date())
    days = (last_day - first_day).days + 1
    usage = SyntheticUsage(
        rows=days * _WINDOWS_PER_DAY * _RECORDS_PER_WINDOW,
        days=days,
        service_accounts=_SERVICE_ACCOUNTS,
        topics=_TOPICS,
        clusters=1,
        last_day=last_day,
    )
    say(
        f"Synthetic history: adding {usage.rows} records, {first_day} to {last_day}, "
        f"as cluster {SYNTHETIC_CLUSTER} ..."
    )
    return store.import_usage(_renamed(usage), f"demo-history-{first_day}-{last_day}")


def _renamed(usage: SyntheticUsage) -> Iterator[UsageRecord]:
    for _day, records in synthetic_days(usage):
        for record in records:
            yield dataclasses.replace(record, cluster=SYNTHETIC_CLUSTER)
