"""Several writers at once (the gateway flushing, an import, a report building a zone)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from chargeback.store import open_store
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord


def records_of_batch(number: int) -> list[UsageRecord]:
    first = datetime(2026, 3, 28, 20, tzinfo=UTC)
    return [
        UsageRecord(
            ClusterName("prod"),
            Principal(f"svc-{n % 7}"),
            TopicName("t"),
            Direction.EGRESS,
            first + timedelta(minutes=15 * ((number * 13 + n) % 40)),
            number + n,
        )
        for n in range(30)
    ]


def test_the_same_batch_written_by_many_writers_at_once_counts_once(store_url: str) -> None:
    # Given eight stores (as eight processes would) racing to write one batch
    stores = [open_store(store_url) for _ in range(8)]
    start = threading.Barrier(len(stores))
    batch = records_of_batch(1)

    def write(index: int) -> bool:
        start.wait()
        return stores[index].write_usage("flush-1", batch)

    # When
    with ThreadPoolExecutor(len(stores)) as pool:
        outcomes = list(pool.map(write, range(len(stores))))

    # Then
    assert outcomes.count(True) == 1
    totals = stores[0].daily_usage("UTC", date(2026, 3, 28), date(2026, 3, 29), None)
    assert sum(total.bytes for total in totals) == sum(record.bytes for record in batch)
    for store in stores:
        store.close()


def test_a_zone_built_while_writers_write_misses_nothing(store_url: str) -> None:
    # Given two writers and a reader that builds Berlin's rollups in the middle of their writes
    writers = [open_store(store_url) for _ in range(2)]
    reader = open_store(store_url)
    halfway = threading.Event()

    def write(index: int) -> None:
        for number in range(index, 40, 2):
            writers[index].write_usage(f"batch-{number}", records_of_batch(number))
            if number == 20:
                halfway.set()

    def build_zone() -> None:
        halfway.wait()
        reader.materialize_zone("Europe/Berlin")

    # When
    with ThreadPoolExecutor(3) as pool:
        jobs = [pool.submit(write, 0), pool.submit(write, 1), pool.submit(build_zone)]
        for job in jobs:
            job.result()

    # Then every byte is in Berlin's rollups exactly once
    written = sum(record.bytes for number in range(40) for record in records_of_batch(number))
    days = reader.daily_usage("Europe/Berlin", date(2026, 3, 28), date(2026, 3, 30), None)
    months = reader.monthly_usage("Europe/Berlin", date(2026, 3, 1), date(2026, 3, 31), None)
    assert sum(total.bytes for total in days) == written
    assert sum(total.bytes for total in months) == written
    for store in [*writers, reader]:
        store.close()
