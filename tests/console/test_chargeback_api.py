"""`GET /api/v1/chargeback` and its export: every parameter, every error, on SQLite and PostgreSQL.

Expected values are worked out by hand from the seed data (see tests/console/seed.py).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from chargeback.console import ConsoleSettings, create_app
from chargeback.store import Store, open_store, zone_names
from tests.console.conftest import (
    ADMIN_HEADERS,
    BASE_URL,
    VIEWER,
    VIEWER_HEADERS,
    VIEWER_PASSWORD,
    Hashes,
    sign_in,
    with_users,
)
from tests.console.seed import SEVEN_DAYS, seed

# Plain decimals: no exponent, and no trailing zeros after the point ("0.3", not "0.30000...").
PLAIN_DECIMAL = re.compile(r"-?\d+(\.\d*[1-9])?")
SEVEN_DAYS_UTC = {"period": "7D", "asOf": "2026-11-30"}


@pytest.fixture
def store(store_on_each_backend: Store, password_hashes: Hashes) -> Store:
    """The seeded store, with users, on SQLite and then on PostgreSQL."""
    return seed(with_users(store_on_each_backend, password_hashes))


async def view(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    answer = await client.get("/api/v1/chargeback", params=params, headers=VIEWER_HEADERS)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def money(cells: list[str]) -> list[Decimal]:
    """Exact decimals from JSON strings, checking each is a plain decimal string."""
    assert all(isinstance(cell, str) and PLAIN_DECIMAL.fullmatch(cell) for cell in cells), cells
    return [Decimal(cell) for cell in cells]


def names(body: dict[str, Any]) -> list[str]:
    return [row["service_account"] for row in body["rows"]]


async def test_the_overall_view_prices_each_day_and_sorts_by_total(
    client: httpx.AsyncClient,
) -> None:
    # When
    body = await view(client, tab="overall", **SEVEN_DAYS_UTC)
    # Then
    assert [bucket["label"] for bucket in body["buckets"]] == SEVEN_DAYS
    assert (body["first_day"], body["last_day"], body["unit"]) == (
        "2026-11-24",
        "2026-11-30",
        "USD",
    )
    rows = {row["service_account"]: row for row in body["rows"]}
    assert names(body) == ["orders", "billing", "=evil"]
    zero = Decimal(0)
    assert money(rows["orders"]["cells"]) == [zero] * 5 + [Decimal("0.05"), Decimal("0.30")]
    assert money(rows["billing"]["cells"]) == [zero] * 4 + [Decimal("0.05"), zero, Decimal("0.10")]
    assert money(rows["=evil"]["cells"]) == [Decimal("0.00015")] + [zero] * 6
    assert money([row["total"] for row in body["rows"]]) == [
        Decimal("0.35"),
        Decimal("0.15"),
        Decimal("0.00015"),
    ]
    column_totals = [Decimal("0.00015"), zero, zero, zero, Decimal("0.05"), Decimal("0.05")]
    assert money(body["column_totals"]) == [*column_totals, Decimal("0.40")]
    assert money([body["grand_total"]]) == [Decimal("0.50015")]


async def test_the_answer_echoes_the_view_with_every_default_filled_in(
    client: httpx.AsyncClient,
) -> None:
    # When
    body = await view(client, period="7D", asOf="2026-11-30")
    # Then
    assert body["query"] == {
        "tab": "overall",
        "period": "7D",
        "metric": "cost",
        "asOf": "2026-11-30",
        "tz": "UTC",
        "filter": "",
        "sort": "total:desc",
        "cluster": None,
    }
    assert body["export_filename"] == "Chargeback_2026-11-24_2026-11-30_OverallCost.csv"


async def test_prices_travel_as_exact_strings_with_the_gb_unit(client: httpx.AsyncClient) -> None:
    # When
    body = await view(client, **SEVEN_DAYS_UTC)
    # Then the prices the report was priced at, and nothing else (no list of currencies offered)
    assert body["prices"] == {
        "ingress_per_gb": "0.10",
        "egress_per_gb": "0.05",
        "currency": "USD",
        "gb_unit": "decimal",
        "bytes_per_gb": 10**9,
    }


async def test_the_ingress_tab_in_bytes_gives_integers(client: httpx.AsyncClient) -> None:
    # When
    body = await view(client, tab="ingress", metric="bytes", **SEVEN_DAYS_UTC)
    # Then
    assert body["unit"] == "bytes"
    assert {row["service_account"]: row["total"] for row in body["rows"]} == {
        "orders": 3 * 10**9,
        "billing": 5 * 10**8,
        "=evil": 1_500_000,
    }
    assert body["rows"][0]["cells"] == [0, 0, 0, 0, 0, 0, 3 * 10**9]
    assert body["grand_total"] == 3 * 10**9 + 5 * 10**8 + 1_500_000


async def test_the_egress_tab_in_percent_gives_each_accounts_share(
    client: httpx.AsyncClient,
) -> None:
    # When
    body = await view(client, tab="egress", metric="percentage", **SEVEN_DAYS_UTC)
    # Then: orders consumed 1 GB and billing 2 GB of the 3 GB consumed
    assert body["unit"] == "percent"
    totals = {row["service_account"]: Decimal(row["total"]) for row in body["rows"]}
    assert totals["billing"].quantize(Decimal("0.0001")) == Decimal("66.6667")
    assert totals["orders"].quantize(Decimal("0.0001")) == Decimal("33.3333")
    assert names(body) == ["billing", "orders"]


async def test_the_period_6m_has_monthly_buckets_up_to_the_as_of_month(
    client: httpx.AsyncClient,
) -> None:
    # When
    body = await view(client, tab="egress", metric="bytes", period="6M", asOf="2026-11-30")
    # Then
    labels = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert [bucket["label"] for bucket in body["buckets"]] == labels
    audit = next(row for row in body["rows"] if row["service_account"] == "Audit")
    assert audit["cells"] == [0, 0, 0, 0, 4 * 10**9, 0]


@pytest.mark.parametrize(
    ("period", "first_day", "bucket_count"),
    [
        ("7D", "2026-11-24", 7),
        ("30D", "2026-11-01", 30),
        ("6M", "2026-06-01", 6),
        ("12M", "2025-12-01", 12),
        ("YTD", "2026-01-01", 11),
    ],
)
async def test_each_period_starts_where_the_spec_says(
    client: httpx.AsyncClient, period: str, first_day: str, bucket_count: int
) -> None:
    # When
    body = await view(client, period=period, asOf="2026-11-30")
    # Then
    assert (body["first_day"], len(body["buckets"])) == (first_day, bucket_count)


async def test_the_time_zone_moves_late_usage_into_the_next_local_day(
    client: httpx.AsyncClient,
) -> None:
    # When
    body = await view(client, tab="egress", metric="bytes", tz="Asia/Kathmandu", **SEVEN_DAYS_UTC)
    # Then: billing's 20:00 UTC egress is on 12-01 in Kathmandu, after the period
    assert {row["service_account"]: row["total"] for row in body["rows"]} == {"orders": 10**9}
    assert body["query"]["tz"] == "Asia/Kathmandu"


@pytest.mark.parametrize("console_settings", [ConsoleSettings(default_zone="Asia/Kathmandu")])
async def test_the_consoles_default_zone_applies_when_none_is_asked_for(
    client: httpx.AsyncClient,
) -> None:
    # When
    body = await view(client, tab="egress", metric="bytes", **SEVEN_DAYS_UTC)
    # Then
    assert body["query"]["tz"] == "Asia/Kathmandu"
    assert names(body) == ["orders"]


async def test_a_cluster_narrows_the_view_to_its_usage(client: httpx.AsyncClient) -> None:
    # When
    body = await view(client, cluster="west", **SEVEN_DAYS_UTC)
    # Then
    assert names(body) == ["billing"]
    assert body["query"]["cluster"] == "west"


async def test_the_filter_matches_names_case_insensitively(client: httpx.AsyncClient) -> None:
    # When
    body = await view(client, filter="ORD", **SEVEN_DAYS_UTC)
    # Then
    assert names(body) == ["orders"]
    assert money([body["grand_total"]]) == [Decimal("0.35")]


async def test_a_filter_that_matches_nothing_gives_an_empty_view(client: httpx.AsyncClient) -> None:
    # When
    body = await view(client, filter="nobody-has-this-name", **SEVEN_DAYS_UTC)
    # Then
    assert body["rows"] == []
    assert body["chart"] == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("service_account:asc", ["=evil", "billing", "orders"]),
        ("service_account:desc", ["orders", "billing", "=evil"]),
        ("total:asc", ["=evil", "billing", "orders"]),
        ("2026-11-28:desc", ["billing", "=evil", "orders"]),
        ("2026-11-24:desc", ["=evil", "billing", "orders"]),
    ],
)
async def test_any_column_sorts_with_ties_by_name(
    client: httpx.AsyncClient, sort: str, expected: list[str]
) -> None:
    # When
    body = await view(client, sort=sort, **SEVEN_DAYS_UTC)
    # Then
    assert names(body) == expected


@pytest.mark.parametrize(
    ("params", "message_part"),
    [
        ({"period": "9D"}, "unknown period '9D'"),
        ({"tab": "everything"}, "unknown tab 'everything'"),
        ({"metric": "dollars"}, "unknown metric 'dollars'"),
        ({"asOf": "30/11/2026"}, "bad as-of date '30/11/2026'"),
        ({"asOf": "2026-02-30"}, "bad as-of date '2026-02-30'"),
        ({"asOf": "9999-12-31"}, "as-of date 9999-12-31 is too late: use a date up to 9998-12-31"),
        ({"tz": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
        ({"tz": "posix/Europe/Berlin"}, "unknown time zone 'posix/Europe/Berlin': use 'Europe/"),
        ({"tz": "localtime"}, "unknown time zone 'localtime': use an IANA name"),
        ({"tz": "Factory"}, "unknown time zone 'Factory': use an IANA name"),
        ({"sort": "total:sideways"}, "bad sort direction"),
        ({"sort": "2020-01-01:desc", "period": "7D"}, "2020-01-01"),
        ({"tab": "overall", "metric": "bytes"}, "bytes"),
    ],
)
async def test_bad_parameters_answer_422_saying_what_is_wrong(
    client: httpx.AsyncClient, params: dict[str, str], message_part: str
) -> None:
    # When
    answer = await client.get("/api/v1/chargeback", params=params, headers=VIEWER_HEADERS)
    export = await client.get("/api/v1/chargeback/export", params=params, headers=VIEWER_HEADERS)
    # Then
    assert (answer.status_code, export.status_code) == (422, 422)
    assert message_part in answer.json()["detail"]
    assert export.json() == answer.json()


async def test_the_pages_as_of_bounds_are_dates_the_api_answers_for_every_period(
    client: httpx.AsyncClient,
) -> None:
    # Given the page's date input
    await sign_in(client, VIEWER, VIEWER_PASSWORD)
    page = (await client.get("/")).text
    date_input = re.search(r'<input type="date" name="asOf"[^>]*>', page)
    assert date_input, "the page has an as-of date input"
    # When
    bounds = re.findall(r'(min|max)="([^"]*)"', date_input.group(0))
    answers = [
        (await client.get("/api/v1/chargeback", params={"period": period, "asOf": day})).status_code
        for _, day in bounds
        for period in ("7D", "30D", "6M", "12M", "YTD")
    ]
    # Then: year 2 is the first the 12M period can reach back from; year 10000 does not exist
    assert bounds == [("min", "0002-01-01"), ("max", "9998-12-31")]
    assert answers == [200] * 10


async def test_the_page_offers_the_zones_the_api_accepts_and_no_copies_or_placeholders(
    client: httpx.AsyncClient,
) -> None:
    # Given
    await sign_in(client, VIEWER, VIEWER_PASSWORD)
    # When
    page = (await client.get("/")).text
    # Then
    zone_list = re.search(r'<datalist id="zones">(.*?)</datalist>', page)
    assert zone_list, "the page has a list of zones"
    offered = set(re.findall(r'<option value="([^"]+)">', zone_list.group(1)))
    assert {"UTC", "Europe/Berlin", "Asia/Kathmandu"} <= offered
    assert not {"localtime", "Factory"} & offered
    assert not [zone for zone in offered if zone.startswith(("posix/", "right/"))]
    assert offered == zone_names()


@pytest.mark.parametrize("console_settings", [ConsoleSettings(chart_top_accounts=2)])
async def test_the_chart_folds_accounts_beyond_the_largest_into_other(
    client: httpx.AsyncClient,
) -> None:
    # When
    body = await view(client, sort="service_account:asc", **SEVEN_DAYS_UTC)
    # Then: the largest two by total, whatever the table's order, then the rest as "Other"
    chart = body["chart"]
    assert [(series["name"], series["is_other"]) for series in chart] == [
        ("orders", False),
        ("billing", False),
        ("Other", True),
    ]
    assert money(chart[2]["values"]) == [Decimal("0.00015")] + [Decimal(0)] * 6


async def test_without_many_accounts_the_chart_has_no_other_series(
    client: httpx.AsyncClient,
) -> None:
    # When
    body = await view(client, **SEVEN_DAYS_UTC)
    # Then
    assert [series["name"] for series in body["chart"]] == ["orders", "billing", "=evil"]
    assert money(body["chart"][0]["values"]) == money(body["rows"][0]["cells"])


async def test_a_new_price_reprices_the_view_at_once(client: httpx.AsyncClient) -> None:
    # Given
    await client.put("/api/v1/pricing", json={"ingress_per_gb": "1"}, headers=ADMIN_HEADERS)
    # When
    body = await view(client, tab="ingress", **SEVEN_DAYS_UTC)
    # Then: 3 GB at 1 USD per GB
    assert money([body["rows"][0]["total"]]) == [Decimal("3")]


async def test_the_export_is_the_specs_csv_of_the_view(client: httpx.AsyncClient) -> None:
    # When
    answer = await client.get(
        "/api/v1/chargeback/export", params=SEVEN_DAYS_UTC, headers=VIEWER_HEADERS
    )
    # Then
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="Chargeback_2026-11-24_2026-11-30_OverallCost.csv"'
    )
    zeros = ["0.000000"]
    expected = [
        ["Service account", *SEVEN_DAYS, "Total"],
        ["orders", *zeros * 5, "0.050000", "0.300000", "0.350000"],
        ["billing", *zeros * 4, "0.050000", "0.000000", "0.100000", "0.150000"],
        ["'=evil", "0.000150", *zeros * 6, "0.000150"],
    ]
    assert answer.content == "".join(",".join(line) + "\r\n" for line in expected).encode()


async def test_the_ingress_export_holds_bytes_whatever_the_metric_on_screen(
    client: httpx.AsyncClient,
) -> None:
    # When
    answer = await client.get(
        "/api/v1/chargeback/export",
        params={"tab": "ingress", "metric": "percentage", "filter": "bill", **SEVEN_DAYS_UTC},
        headers=VIEWER_HEADERS,
    )
    # Then
    assert answer.headers["Content-Disposition"].endswith('_Ingress.csv"')
    lines = answer.content.decode().split("\r\n")
    assert lines[1:] == ["billing,0,0,0,0,500000000,0,0,500000000", ""]


async def test_a_zone_past_max_report_zones_answers_422_and_built_zones_still_answer(
    tmp_path: Path, password_hashes: Hashes
) -> None:
    # Given a console over a store with room for two zones: UTC (built with it) and one more
    capped = open_store(f"sqlite:///{tmp_path / 'capped.db'}", max_report_zones=2)
    store = seed(with_users(capped, password_hashes))
    transport = httpx.ASGITransport(app=create_app(store))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        tokyo = await view(client, tz="Asia/Tokyo", **SEVEN_DAYS_UTC)

        # When
        answer = await client.get(
            "/api/v1/chargeback",
            params={"tz": "Europe/Berlin", **SEVEN_DAYS_UTC},
            headers=VIEWER_HEADERS,
        )

        # Then
        assert answer.status_code == 422
        assert answer.json() == {
            "detail": "time zone 'Europe/Berlin' has no rollups yet, and the store already "
            "keeps those of 2 zones, as many as the setting max_report_zones (2) allows: "
            "report in one of Asia/Tokyo, UTC, or ask an operator to raise max_report_zones"
        }
        assert await view(client, tz="Asia/Tokyo", **SEVEN_DAYS_UTC) == tokyo
    store.close()
