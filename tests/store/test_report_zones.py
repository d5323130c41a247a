"""Which time zones reports may use, and how many zones' rollups the store builds for them.

Every zone a report asks for makes the store build rollups (a pass over all usage under the
write lock, and rows of its own), and any signed-in viewer chooses the zone: so only the time
zone database's names are accepted, and at most `max_report_zones` zones are built.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from chargeback.store import Store, StoreError, UsageTotal, ZoneLimitError, open_store, zone_names
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord

DAY = date(2026, 5, 1)
# 22:00 UTC on 30 April: 30 April in UTC and New York, 1 May in Berlin and Tokyo.
LATE_EVENING = datetime(2026, 4, 30, 22, tzinfo=UTC)


def built_zones(store_url: str) -> list[str]:
    """The zones listed in `rollup_zones`, read from the database itself."""
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT zone FROM rollup_zones ORDER BY zone")
            return [row[0] for row in rows]
    finally:
        engine.dispose()


@pytest.fixture
def capped(store_url: str) -> Iterator[Store]:
    """A store with usage that builds rollups for at most 3 zones (UTC is one already)."""
    opened = open_store(store_url, max_report_zones=3)
    record = UsageRecord(
        ClusterName("prod"), Principal("alice"), TopicName("t"), Direction.INGRESS, LATE_EVENING, 5
    )
    opened.write_usage("batch-1", [record])
    yield opened
    opened.close()


def test_zone_names_are_the_databases_names_and_utc_without_copies_or_placeholders() -> None:
    # When
    names = zone_names()

    # Then
    assert {"UTC", "Europe/Berlin", "Asia/Kathmandu", "US/Pacific"} <= names
    assert not {"localtime", "Factory", "posixrules", "posix/Europe/Berlin", "right/UTC"} & names
    assert not [name for name in names if name.startswith(("posix/", "right/", "/"))]


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        (
            "posix/Europe/Berlin",
            "unknown time zone 'posix/Europe/Berlin': use 'Europe/Berlin' (the copies under "
            "posix/ and right/ are not offered)",
        ),
        ("right/UTC", "unknown time zone 'right/UTC': use 'UTC'"),
        ("localtime", "unknown time zone 'localtime': use an IANA name such as UTC or Europe"),
        ("Factory", "unknown time zone 'Factory': use an IANA name such as UTC or Europe/Berlin"),
        ("/usr/share/zoneinfo/UTC", "unknown time zone '/usr/share/zoneinfo/UTC'"),
    ],
)
def test_a_zone_outside_the_database_names_is_refused_and_nothing_is_built(
    store: Store, store_url: str, zone: str, message: str
) -> None:
    # When
    with pytest.raises(StoreError) as refused:
        store.daily_usage(zone, DAY, DAY, None)

    # Then
    assert str(refused.value).startswith(message)
    with pytest.raises(StoreError, match="unknown time zone"):
        store.materialize_zone(zone)
    assert built_zones(store_url) == ["UTC"]


def test_a_report_in_one_zone_more_than_the_limit_is_refused_naming_the_setting(
    capped: Store, store_url: str
) -> None:
    # Given two zones built by reports: with UTC, as many as the limit allows
    capped.daily_usage("Asia/Tokyo", DAY, DAY, None)
    capped.daily_usage("Europe/Berlin", DAY, DAY, None)

    # When
    with pytest.raises(ZoneLimitError) as refused:
        capped.daily_usage("America/New_York", DAY, DAY, None)

    # Then
    assert str(refused.value) == (
        "time zone 'America/New_York' has no rollups yet, and the store already keeps those of "
        "3 zones, as many as the setting max_report_zones (3) allows: report in one of "
        "Asia/Tokyo, Europe/Berlin, UTC, or ask an operator to raise max_report_zones"
    )
    assert built_zones(store_url) == ["Asia/Tokyo", "Europe/Berlin", "UTC"]


def test_zones_built_before_the_limit_was_reached_keep_working(
    capped: Store, store_url: str
) -> None:
    # Given the limit reached, and a store opened afresh (nothing remembered in memory)
    capped.daily_usage("Asia/Tokyo", DAY, DAY, None)
    capped.daily_usage("Europe/Berlin", DAY, DAY, None)
    reopened = open_store(store_url, max_report_zones=3)
    late = UsageRecord(
        ClusterName("prod"), Principal("alice"), TopicName("t"), Direction.INGRESS, LATE_EVENING, 2
    )

    # When usage arrives and a report reads a built zone
    reopened.write_usage("batch-2", [late])
    tokyo = reopened.daily_usage("Asia/Tokyo", DAY, DAY, None)

    # Then
    assert tokyo == [UsageTotal("alice", Direction.INGRESS, DAY, 7)]
    reopened.close()


def test_the_configured_zone_and_explicit_builds_are_not_limited(
    capped: Store, store_url: str
) -> None:
    # Given the limit reached by reports
    capped.daily_usage("Asia/Tokyo", DAY, DAY, None)
    capped.daily_usage("Europe/Berlin", DAY, DAY, None)
    configured = open_store(store_url, max_report_zones=3, default_zone="Asia/Kathmandu")

    # When a report asks for the configured zone, and an operator builds another one
    kathmandu = configured.daily_usage("Asia/Kathmandu", DAY, DAY, None)
    is_built = configured.materialize_zone("America/Lima")

    # Then both are built; any other zone is still refused
    assert kathmandu == [UsageTotal("alice", Direction.INGRESS, DAY, 5)]  # 03:45 on 1 May
    assert is_built
    assert len(built_zones(store_url)) == 5
    with pytest.raises(ZoneLimitError):
        configured.daily_usage("America/New_York", DAY, DAY, None)
    configured.close()


def test_reports_racing_for_the_last_free_place_build_one_zone(store_url: str) -> None:
    # Given four stores (as four console processes would), with room for one more zone
    stores = [open_store(store_url, max_report_zones=2) for _ in range(4)]
    zones = ["Asia/Tokyo", "Europe/Berlin", "America/Lima", "Africa/Nairobi"]
    start = threading.Barrier(len(stores))

    def report(index: int) -> bool:
        start.wait()
        try:
            stores[index].daily_usage(zones[index], DAY, DAY, None)
        except ZoneLimitError:
            return False
        return True

    # When
    with ThreadPoolExecutor(len(stores)) as pool:
        outcomes = list(pool.map(report, range(len(stores))))

    # Then
    assert outcomes.count(True) == 1
    assert len(built_zones(store_url)) == 2
    for store in stores:
        store.close()


def test_a_limit_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="max_report_zones 0 is not a positive number"):
        open_store(f"sqlite:///{tmp_path / 'store.db'}", max_report_zones=0)
