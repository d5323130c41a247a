"""The report engine over the real store: local days and months in real zones."""

import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargeback.pricing import PriceSettings
from chargeback.reports import Metric, PeriodName, ReportQuery, Tab, build_report
from chargeback.store import Store, open_store
from chargeback.usage import Direction, UsageRecord
from tests.unit.reports.fakes import record, utc

IN, OUT = Direction.INGRESS, Direction.EGRESS


def day_bytes(
    store: Store, zone: str, as_of: date, period: PeriodName = PeriodName.LAST_7_DAYS
) -> dict[str, int]:
    """Ingress bytes per bucket label over all accounts."""
    report = build_report(store, ReportQuery(Tab.INGRESS, period, as_of, Metric.BYTES, zone=zone))
    return {
        b.label: int(total) for b, total in zip(report.buckets, report.column_totals, strict=True)
    }


def test_a_23_hour_day_at_the_spring_change_in_berlin_holds_exactly_its_hours(store: Store) -> None:
    # Given: local 28 Mar 23:45 CET, 29 Mar 00:00 CET, 29 Mar 23:45 CEST, 30 Mar 00:00 CEST
    store.write_usage(
        "b1",
        [
            record("a", IN, utc(2026, 3, 28, 22, 45), 1),
            record("a", IN, utc(2026, 3, 28, 23, 0), 10),
            record("a", IN, utc(2026, 3, 29, 21, 45), 100),
            record("a", IN, utc(2026, 3, 29, 22, 0), 1000),
        ],
    )

    # When
    days = day_bytes(store, "Europe/Berlin", date(2026, 3, 30))

    # Then
    assert (days["2026-03-28"], days["2026-03-29"], days["2026-03-30"]) == (1, 110, 1000)


def test_a_25_hour_day_at_the_autumn_change_in_new_york_holds_exactly_its_hours(
    store: Store,
) -> None:
    # Given: 1 Nov 00:00 EDT (04:00Z), 1 Nov 23:45 EST (04:45Z next day), 2 Nov 00:00 EST
    store.write_usage(
        "b1",
        [
            record("a", IN, utc(2026, 11, 1, 3, 45), 1),
            record("a", IN, utc(2026, 11, 1, 4, 0), 10),
            record("a", IN, utc(2026, 11, 2, 4, 45), 100),
            record("a", IN, utc(2026, 11, 2, 5, 0), 1000),
        ],
    )

    # When
    days = day_bytes(store, "America/New_York", date(2026, 11, 2))

    # Then
    assert (days["2026-10-31"], days["2026-11-01"], days["2026-11-02"]) == (1, 110, 1000)


def test_a_month_in_kathmandu_starts_at_quarter_past_six_the_evening_before_in_utc(
    store: Store,
) -> None:
    # Given: +05:45, so 1 Feb 00:00 local is 31 Jan 18:15 UTC
    store.write_usage(
        "b1",
        [
            record("a", IN, utc(2026, 1, 31, 18, 0), 1),
            record("a", IN, utc(2026, 1, 31, 18, 15), 10),
        ],
    )

    # When
    months = day_bytes(store, "Asia/Kathmandu", date(2026, 2, 10), PeriodName.LAST_6_MONTHS)

    # Then
    assert (months["2026-01"], months["2026-02"]) == (1, 10)


def test_a_day_in_chatham_starts_at_a_quarter_past_eleven_utc(store: Store) -> None:
    # Given: +12:45 in July (standard time)
    store.write_usage(
        "b1",
        [
            record("a", IN, utc(2026, 7, 14, 11, 0), 1),
            record("a", IN, utc(2026, 7, 14, 11, 15), 10),
        ],
    )

    # When
    days = day_bytes(store, "Pacific/Chatham", date(2026, 7, 15))

    # Then
    assert (days["2026-07-14"], days["2026-07-15"]) == (1, 10)


def test_year_to_date_in_kolkata_starts_at_half_past_six_on_new_years_eve_utc(store: Store) -> None:
    # Given: +05:30, so 1 Jan 00:00 local is 31 Dec 18:30 UTC
    store.write_usage(
        "b1",
        [
            record("a", IN, utc(2025, 12, 31, 18, 15), 1),
            record("a", IN, utc(2025, 12, 31, 18, 30), 10),
        ],
    )

    # When
    months = day_bytes(store, "Asia/Kolkata", date(2026, 1, 5), PeriodName.YEAR_TO_DATE)

    # Then
    assert months == {"2026-01": 10}


def test_29_february_is_a_day_of_its_own_in_a_leap_year(store: Store) -> None:
    # Given
    store.write_usage(
        "b1",
        [record("a", IN, utc(2028, 2, 29, 23, 45), 7), record("a", IN, utc(2028, 3, 1), 3)],
    )

    # When
    days = day_bytes(store, "UTC", date(2028, 3, 1), PeriodName.LAST_30_DAYS)

    # Then
    assert (days["2028-02-28"], days["2028-02-29"], days["2028-03-01"]) == (0, 7, 3)


def test_the_as_of_month_counts_only_up_to_the_as_of_date(store: Store) -> None:
    # Given
    store.write_usage(
        "b1",
        [record("a", IN, utc(2026, 3, 10, 23, 45), 5), record("a", IN, utc(2026, 3, 11), 50)],
    )

    # When
    months = day_bytes(store, "UTC", date(2026, 3, 10), PeriodName.LAST_12_MONTHS)

    # Then
    assert months["2026-03"] == 5


def test_overall_cost_sums_clusters_unless_one_is_chosen(store: Store) -> None:
    # Given 1 GB produced on each of two clusters, 2 GB consumed on one
    store.set_prices(PriceSettings(ingress_per_gb=Decimal("0.10"), egress_per_gb=Decimal("0.05")))
    store.write_usage(
        "b1",
        [
            record("a", IN, utc(2026, 3, 9, 12), 10**9, cluster="east"),
            record("a", IN, utc(2026, 3, 9, 12), 10**9, cluster="west"),
            record("a", OUT, utc(2026, 3, 10, 12), 2 * 10**9, cluster="west"),
        ],
    )
    query = ReportQuery(Tab.OVERALL, PeriodName.LAST_7_DAYS, date(2026, 3, 10))

    # When
    every = build_report(store, query)
    east = build_report(store, replace(query, cluster="east"))

    # Then: 2 × 0.10 + 2 × 0.05 everywhere; 1 × 0.10 on east
    assert every.grand_total == Decimal("0.30")
    assert every.rows[0].cells[-2:] == (Decimal("0.20"), Decimal("0.10"))
    assert east.grand_total == Decimal("0.10")


def test_a_late_write_into_an_old_window_shows_in_the_next_report(store: Store) -> None:
    # Given a report already made (its zone's rollups exist)
    store.write_usage("b1", [record("a", IN, utc(2026, 3, 9, 12), 5)])
    before = day_bytes(store, "Europe/Berlin", date(2026, 3, 10))

    # When a batch arrives late for the same window, and the first batch is retried
    store.write_usage("b2", [record("a", IN, utc(2026, 3, 9, 12), 7)])
    store.write_usage("b1", [record("a", IN, utc(2026, 3, 9, 12), 5)])

    # Then
    assert before["2026-03-09"] == 5
    assert day_bytes(store, "Europe/Berlin", date(2026, 3, 10))["2026-03-09"] == 12


ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Asia/Kolkata",
]
SPAN_QUARTERS = 420 * 96  # from 2025-02-01: past the widest period (12M) ending 2026-03-31

random_records = st.lists(
    st.builds(
        lambda name, direction, quarter, byte_count: record(
            name, direction, utc(2025, 2, 1) + timedelta(minutes=15 * quarter), byte_count
        ),
        st.sampled_from(["a", "B", "c, d", "Zürich"]),
        st.sampled_from(Direction),
        st.integers(0, SPAN_QUARTERS - 1),
        st.integers(0, 10**12),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=random_records,
    zone=st.sampled_from(ZONES),
    period=st.sampled_from(PeriodName),
    as_of=st.dates(date(2026, 1, 1), date(2026, 3, 31)),
)
def test_every_byte_lands_in_the_one_bucket_of_its_local_day(
    store_url: str, records: list[UsageRecord], zone: str, period: PeriodName, as_of: date
) -> None:
    # Given the records on a cluster of this example's own (examples share the database)
    cluster = uuid.uuid4().hex
    mine = [
        record(r.service_account, r.direction, r.window_start_utc, r.bytes, cluster=cluster)
        for r in records
    ]
    store = open_store(store_url)
    try:
        store.write_usage(cluster, mine)
        query = ReportQuery(Tab.OVERALL, period, as_of, Metric.COST, zone=zone, cluster=cluster)

        # When
        report = build_report(
            store, query, PriceSettings(ingress_per_gb=Decimal(1), egress_per_gb=Decimal(1))
        )
    finally:
        store.close()

    # Then: at 1 per GB both ways, each bucket's cost is its raw bytes / 10**9
    for bucket, total in zip(report.buckets, report.column_totals, strict=True):
        expected_bytes = sum(
            r.bytes
            for r in mine
            if bucket.first_day
            <= r.window_start_utc.astimezone(ZoneInfo(zone)).date()
            <= bucket.last_day
        )
        assert total == Decimal(expected_bytes) / 10**9


def test_every_period_ends_on_the_last_as_of_date_in_a_zone_ahead_of_utc(store: Store) -> None:
    # Given the last window before 9999 UTC and one 14 hours earlier: in Kiritimati (UTC+14)
    # the first falls on 1 January 9999, after the last as-of date; the second on 31 December
    store.write_usage(
        "late",
        [record("a", IN, utc(9998, 12, 31, 23, 45), 5), record("a", IN, utc(9998, 12, 31, 9), 7)],
    )

    # When
    totals = {
        period: build_report(
            store,
            ReportQuery(Tab.INGRESS, period, date(9998, 12, 31), Metric.BYTES,
                        zone="Pacific/Kiritimati"),
        ).grand_total
        for period in PeriodName
    }  # fmt: skip

    # Then
    assert totals == dict.fromkeys(PeriodName, 7)
