"""Property: whatever is written, in whatever order, every zone's day and month totals equal the
sums of the raw usage, worked out here with `datetime.astimezone` (not the store's arithmetic).

Writes repeat batch ids (retries), reach back into old windows (late writes), and zones are
materialized before, between or after them.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargeback.store import open_store
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord
from tests.store.conftest import wipe

ZONES = [
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Europe/Berlin",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "UTC",
]
# Instants near daylight-saving changes, a year end and 29 February.
ANCHORS = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Berlin springs forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # Berlin falls back
    datetime(2026, 4, 4, 15, tzinfo=UTC),  # Lord Howe goes back 30 minutes
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe goes forward 30 minutes
    datetime(2026, 3, 8, 5, 30, tzinfo=UTC),  # St John's springs forward
    datetime(2026, 12, 31, 18, tzinfo=UTC),  # year end (Kathmandu midnight at 18:15)
    datetime(2028, 2, 28, 10, tzinfo=UTC),  # 29 February (Chatham midnight at 10:15)
]

windows = st.builds(
    lambda anchor, quarters: anchor + timedelta(minutes=15 * quarters),
    st.sampled_from(ANCHORS),
    st.integers(min_value=-8, max_value=8) | st.integers(min_value=-400, max_value=400),
)
records = st.builds(
    UsageRecord,
    cluster=st.sampled_from([ClusterName("east"), ClusterName("west")]),
    service_account=st.sampled_from([Principal("alice"), Principal("Bob"), Principal("ç")]),
    topic=st.sampled_from([TopicName("t1"), TopicName("t2")]),
    direction=st.sampled_from(Direction),
    window_start_utc=windows,
    bytes=st.integers(min_value=0, max_value=10**13),
)
writes = st.tuples(st.sampled_from([f"batch-{n}" for n in range(6)]), st.lists(records, max_size=8))
steps = st.lists(st.one_of(st.sampled_from(ZONES), writes), max_size=12)


Key = tuple[str, Direction, date]


def expected_days(written: list[UsageRecord], zone: str, cluster: str | None) -> Counter[Key]:
    sums: Counter[Key] = Counter()
    for record in written:
        if cluster is None or record.cluster == cluster:
            local = record.window_start_utc.astimezone(ZoneInfo(zone)).date()
            sums[(record.service_account, record.direction, local)] += record.bytes
    return +sums  # drop zero sums: a total of 0 bytes may or may not be listed


def to_months(days: Counter[Key]) -> Counter[Key]:
    months: Counter[Key] = Counter()
    for (account, direction, day), byte_count in days.items():
        months[(account, direction, day.replace(day=1))] += byte_count
    return +months


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps, cluster=st.sampled_from([None, "east"]))
def test_rollups_equal_the_sums_of_raw_usage(
    store_url: str, steps: list[tuple[str, list[UsageRecord]] | str], cluster: str | None
) -> None:
    # Given
    wipe(store_url)
    store = open_store(store_url)
    written: list[UsageRecord] = []
    seen_batches: set[str] = set()
    first_day, last_day = date(2026, 1, 1), date(2028, 12, 31)

    # When
    for step in steps:
        if isinstance(step, str):
            store.daily_usage(step, first_day, first_day, None)  # materializes the zone
            continue
        batch_id, batch = step
        is_new = store.write_usage(batch_id, batch)
        assert is_new is (batch_id not in seen_batches)
        if is_new:
            written.extend(batch)
        seen_batches.add(batch_id)
    results = {
        zone: (
            store.daily_usage(zone, first_day, last_day, cluster),
            store.monthly_usage(zone, first_day, last_day, cluster),
        )
        for zone in ZONES
    }
    store.close()

    # Then
    for zone, (days, months) in results.items():
        expected = expected_days(written, zone, cluster)
        day_keys = [(t.service_account, t.direction, t.bucket_start) for t in days]
        assert len(day_keys) == len(set(day_keys)), zone
        assert +Counter(dict(zip(day_keys, (t.bytes for t in days), strict=True))) == expected, zone
        month_keys = [(t.service_account, t.direction, t.bucket_start) for t in months]
        got_months = +Counter(dict(zip(month_keys, (t.bytes for t in months), strict=True)))
        assert got_months == to_months(expected), zone
