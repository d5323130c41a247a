"""`chargeback demo` end to end: real clients through the gateway, checked through the API.

One demo runs for the whole module: its apps make traffic for a while and then stop and write
their ledger (what the broker stored for them, read directly from the broker, independent of the
gateway), while the console stays up for the checks.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.demo_process import ADMIN_PASSWORD, DemoRun, poll, start_demo, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.browser]

TRAFFIC_SECONDS = 15
PRODUCERS = {"orders-service", "audit-logger"}
CONSUMERS = {"billing-consumers", "analytics-consumers", "reporting-batch"}
IMAGES = Path(__file__).parents[2] / "docs" / "images"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """A demo with history whose apps ran TRAFFIC_SECONDS and wrote their ledger; console up."""
    run = start_demo(
        tmp_path_factory.mktemp("demo"),
        "--duration",
        "600",
        "--traffic-seconds",
        str(TRAFFIC_SECONDS),
        "--history",
    )
    try:
        wait_for(run.is_running, 60, "the demo to start")
        wait_for(run.ledger, 120, "the apps to stop and write their ledger")
        yield run
    finally:
        run.kill()


def _bytes_by_account(demo: DemoRun, tab: str) -> dict[str, int]:
    report = demo.api("/api/v1/chargeback", tab=tab, period="7D", metric="bytes", cluster="demo")
    return {row["service_account"]: row["total"] for row in report["rows"]}


def _expected(ledger: dict[str, Any], direction: str) -> dict[str, int]:
    return {
        app["service_account"]: app[f"{direction}_bytes"]
        for app in ledger["apps"]
        if app[f"{direction}_bytes"] > 0
    }


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_each_demo_account_shows_the_bytes_its_clients_really_moved(
    demo: DemoRun, direction: str
) -> None:
    # Given the ledger of what the broker stored for each app
    ledger = demo.ledger()
    assert ledger is not None
    expected = _expected(ledger, direction)

    # When the API reports the tab, once the gateway's last counts are flushed
    shown = poll(lambda: _bytes_by_account(demo, direction), expected.__eq__, 30)

    # Then every account shows exactly the bytes of its stored batches
    assert shown == expected


def test_the_ledger_accounts_for_every_stored_batch_once(demo: DemoRun) -> None:
    # Given the demo's cast: orders-service writes `orders`, audit-logger `audit-log`;
    # billing and reporting read `orders`, analytics reads both
    # When the ledger is read
    ledger = demo.ledger()

    # Then producers own all stored bytes, each consumer group read its topics whole
    assert ledger is not None
    apps = {app["service_account"]: app for app in ledger["apps"]}
    stored = ledger["stored_bytes_by_topic"]
    assert set(apps) == PRODUCERS | CONSUMERS
    assert apps["orders-service"]["ingress_bytes"] == stored["orders"] > 0
    assert apps["audit-logger"]["ingress_bytes"] == stored["audit-log"] > 0
    assert apps["billing-consumers"]["egress_bytes"] == stored["orders"]
    assert apps["reporting-batch"]["egress_bytes"] == stored["orders"]
    assert apps["analytics-consumers"]["egress_bytes"] == stored["orders"] + stored["audit-log"]
    assert all(app["is_drained"] and app["messages_failed"] == 0 for app in apps.values())


def test_the_compressing_producer_pays_for_compressed_batches(demo: DemoRun) -> None:
    # Given audit-logger sends repetitive lines with zstd
    ledger = demo.ledger()
    assert ledger is not None
    audit = next(a for a in ledger["apps"] if a["service_account"] == "audit-logger")

    # When its metered ingress is read from the API
    metered = _bytes_by_account(demo, "ingress")["audit-logger"]

    # Then it is far below the raw size of the values it produced
    assert metered * 4 < audit["value_bytes_produced"]


def test_history_fills_the_months_before_this_one_under_its_own_cluster(demo: DemoRun) -> None:
    # Given the demo was started with --history
    # When the API reports the last 12 months of the synthetic cluster
    report = demo.api(
        "/api/v1/chargeback",
        tab="ingress",
        period="12M",
        metric="bytes",
        cluster="synthetic-history",
    )

    # Then each of the 11 whole months before the current one has usage, on synthetic accounts
    assert len(report["buckets"]) == 12
    assert all(total > 0 for total in report["column_totals"][:11])
    assert report["rows"]
    assert {row["service_account"] for row in report["rows"]}.isdisjoint(PRODUCERS | CONSUMERS)


def _screenshot_after_sign_in(
    demo: DemoRun, view: str, rows: set[str] | None, name: str
) -> tuple[Path, set[str]]:
    """Sign in as admin at `view`, wait for `rows` (or any row), screenshot; return row names."""
    shot = demo.data_dir / name
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{demo.base_url}/{view}")
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        body = page.locator("#table tbody")
        for account in rows or set():
            body.get_by_text(account, exact=True).wait_for()
        body.locator("tr").first.wait_for()
        shown = {text.strip() for text in body.locator("tr > :first-child").all_inner_texts()}
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    if os.environ.get("CHARGEBACK_SAVE_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, IMAGES / name)
    return shot, shown


def test_the_console_url_the_demo_prints_first_shows_what_each_live_app_costs(
    demo: DemoRun,
) -> None:
    # Given the console URL the demo printed first, and the same view through the API
    printed = re.search(r"^Chargeback console: (http://\S+)$", demo.text(), re.MULTILINE)
    assert printed is not None, demo.text()
    view = printed.group(1).removeprefix(f"{demo.base_url}/")
    report = demo.api("/api/v1/chargeback", period="7D", cluster="demo")

    # When the admin signs in there and the table has loaded
    shot, shown = _screenshot_after_sign_in(
        demo, view, PRODUCERS | CONSUMERS, "demo-live-traffic.png"
    )

    # Then it is the week's cost on the demo cluster: every live app, each with a cost, and
    # today's column (the one the page opens at) holding some
    totals = {row["service_account"]: Decimal(row["total"]) for row in report["rows"]}
    assert view == "?period=7D&cluster=demo"
    assert shown == PRODUCERS | CONSUMERS == set(totals)
    assert all(total > 0 for total in totals.values())
    assert Decimal(report["column_totals"][-1]) > 0
    assert shot.stat().st_size > 10_000


def test_the_demo_prints_the_bytes_views_and_with_history_the_year(demo: DemoRun) -> None:
    # Given the demo started with --history
    # When its announcement is read
    text = demo.text()

    # Then it offers the live bytes of each direction and a year of cost
    base = demo.base_url
    assert f"  Bytes produced: {base}/?tab=ingress&period=7D&metric=bytes&cluster=demo\n" in text
    assert f"  Bytes consumed: {base}/?tab=egress&period=7D&metric=bytes&cluster=demo\n" in text
    assert f"  A year of cost, with the synthetic history: {base}/?period=12M\n" in text


def test_the_page_shows_a_year_of_cost_with_history(demo: DemoRun) -> None:
    # Given the Overall Cost tab over 12 months, all clusters
    view = "?tab=overall&period=12M&metric=cost"
    expected = {
        row["service_account"]
        for row in demo.api("/api/v1/chargeback", tab="overall", period="12M")["rows"]
    }

    # When the admin signs in and the table has loaded
    shot, shown = _screenshot_after_sign_in(demo, view, None, "demo-chargeback.png")

    # Then the page lists the same accounts as the API, live and synthetic
    assert shown == expected
    assert shown >= PRODUCERS | CONSUMERS
    assert shot.stat().st_size > 10_000
