"""The Chargeback page in a real headless Chromium: sign-in, tabs, periods, filter, sort, units,
states, keyboard use, prices, phone width. Expected values come from tests/console/seed.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from chargeback.console import hash_password
from chargeback.usage import Direction
from tests.browser.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    SEVEN_DAYS_VIEW,
    VIEWER,
    VIEWER_PASSWORD,
    LiveConsole,
    sign_in,
)
from tests.console.seed import record

pytestmark = pytest.mark.browser


def rows(page: Page) -> Locator:
    return page.locator("#table tbody th")


def test_the_page_requires_sign_in_and_then_shows_the_requested_view(
    page: Page, live_console: LiveConsole
) -> None:
    # Given
    page.goto(live_console.url + "/?tab=ingress&period=7D&asOf=2026-11-30")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    # When
    page.get_by_label("User name").fill(VIEWER)
    page.get_by_label("Password").fill(VIEWER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Then
    expect(page).to_have_url(live_console.url + "/?tab=ingress&period=7D&asOf=2026-11-30")
    expect(page.get_by_role("tab", name="Ingress")).to_have_attribute("aria-selected", "true")
    expect(rows(page)).to_have_text(["orders", "billing", "=evil"])


def test_switching_tabs_and_periods_changes_the_table_and_the_url(
    page: Page, live_console: LiveConsole
) -> None:
    # Given
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    expect(rows(page)).to_have_text(["orders", "billing", "=evil"])
    # When
    page.get_by_role("tab", name="Egress").click()
    page.get_by_label("6M").check()
    # Then
    expect(page).to_have_url(re.compile(r"tab=egress"))
    expect(page).to_have_url(re.compile(r"period=6M"))
    headers = page.locator("#table thead th")
    expect(headers).to_have_text(
        [
            "Service account",
            *("2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"),
            re.compile(r"Total"),
        ]
    )
    # Audit consumed 4 GB in October, billing 2 GB and orders 1 GB in November
    expect(rows(page)).to_have_text(["Audit", "billing", "orders"])


def test_the_filter_narrows_the_rows_and_stays_in_the_bookmarkable_url(
    page: Page, live_console: LiveConsole
) -> None:
    # Given
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    # When
    page.get_by_label("Filter service accounts").fill("BILL")
    # Then
    expect(rows(page)).to_have_text(["billing"])
    expect(page).to_have_url(re.compile(r"filter=BILL"))
    page.reload()
    expect(page.get_by_label("Filter service accounts")).to_have_value("BILL")
    expect(rows(page)).to_have_text(["billing"])


def test_columns_sort_by_click_and_by_keyboard(page: Page, live_console: LiveConsole) -> None:
    # Given
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    name_header = page.locator("#table thead th").first
    # When
    name_header.get_by_role("button").click()
    expect(rows(page)).to_have_text(["=evil", "billing", "orders"])
    expect(name_header).to_have_attribute("aria-sort", "ascending")
    total_button = page.locator("#table thead th").last.get_by_role("button")
    total_button.focus()
    page.keyboard.press("Enter")
    # Then
    expect(rows(page)).to_have_text(["orders", "billing", "=evil"])
    expect(page.locator("#table thead th").last).to_have_attribute("aria-sort", "descending")
    expect(page).to_have_url(re.compile(r"sort=total%3Adesc"))


def test_tabs_change_with_the_arrow_keys(page: Page, live_console: LiveConsole) -> None:
    # Given
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    page.get_by_role("tab", name="Overall Cost").focus()
    # When
    page.keyboard.press("ArrowRight")
    # Then
    expect(page.get_by_role("tab", name="Ingress")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab", name="Ingress")).to_be_focused()
    expect(page).to_have_url(re.compile(r"tab=ingress"))


def test_bytes_read_in_units_with_the_exact_count_on_hover(
    page: Page, live_console: LiveConsole
) -> None:
    # When
    sign_in(
        page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW + "&tab=ingress&metric=bytes"
    )
    # Then
    orders_total = page.locator("#table tbody tr").first.locator("td").last
    expect(orders_total).to_have_text("3 GB")
    expect(orders_total).to_have_attribute("title", "3,000,000,000 bytes")
    evil_total = page.locator("#table tbody tr").nth(2).locator("td").last
    expect(evil_total).to_have_text("1.5 MB")
    expect(evil_total).to_have_attribute("title", "1,500,000 bytes")


def test_money_shows_its_currency_and_totals(page: Page, live_console: LiveConsole) -> None:
    # When
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    # Then: 0.35 USD for orders; the grand total 0.50015 shows rounded, exact on hover
    expect(page.locator("#table tbody tr").first.locator("td").last).to_have_text("$0.35")
    grand_total = page.locator("#table tfoot td").last
    expect(grand_total).to_have_text("$0.50")
    expect(grand_total).to_have_attribute("title", re.compile(r"^0\.50015(0*) USD$"))
    expect(page.locator("#prices")).to_contain_text("0.10 USD per produced GB")


def test_a_time_zone_and_a_cluster_can_be_chosen(page: Page, live_console: LiveConsole) -> None:
    # Given
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW + "&tab=egress")
    # When
    page.get_by_label("Time zone").fill("Asia/Kathmandu")
    page.get_by_label("Time zone").press("Enter")
    page.get_by_label("Time zone").blur()
    # Then: billing's late egress moves to December 1st in Kathmandu
    expect(rows(page)).to_have_text(["orders"])
    expect(page).to_have_url(re.compile(r"tz=Asia%2FKathmandu"))
    page.get_by_label("Cluster").select_option("west")
    expect(page.locator("#status")).to_have_text("No usage in this period.")
    expect(page).to_have_url(re.compile(r"cluster=west"))


def test_a_bad_view_in_the_url_shows_the_apis_message(
    page: Page, live_console: LiveConsole
) -> None:
    # When
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW + "&tz=Mars/Base")
    # Then
    expect(page.get_by_role("alert")).to_contain_text("unknown time zone 'Mars/Base'")
    expect(rows(page)).to_have_count(0)


def test_a_filter_matching_nobody_shows_the_empty_state(
    page: Page, live_console: LiveConsole
) -> None:
    # When
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW + "&filter=zzz")
    # Then
    expect(page.locator("#status")).to_have_text("No service account matches “zzz” in this period.")
    expect(page.locator("#chart")).to_be_hidden()


def test_the_back_button_returns_to_the_previous_view(
    page: Page, live_console: LiveConsole
) -> None:
    # Given
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    page.get_by_role("tab", name="Ingress").click()
    expect(page).to_have_url(re.compile(r"tab=ingress"))
    # When
    page.go_back()
    # Then
    expect(page.get_by_role("tab", name="Overall Cost")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#period-title")).to_contain_text("Overall Cost")


def test_viewers_see_no_price_dialog(page: Page, live_console: LiveConsole) -> None:
    # When
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    # Then
    expect(page.get_by_role("button", name="Change prices")).to_have_count(0)


def test_the_price_dialog_shows_pricing_errors_then_applies_new_prices_at_once(
    page: Page, live_console: LiveConsole
) -> None:
    # Given
    sign_in(page, live_console, ADMIN, ADMIN_PASSWORD, SEVEN_DAYS_VIEW + "&tab=ingress")
    page.get_by_role("button", name="Change prices").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Price per produced GB (ingress)").fill("-1")
    dialog.get_by_label("Price per consumed GB (egress)").fill("0.123456789")
    dialog.get_by_role("button", name="Save prices").click()
    expect(page.locator("#ingress_per_gb-error")).to_have_text(
        "ingress price per GB -1 is negative"
    )
    expect(page.locator("#egress_per_gb-error")).to_contain_text("more than 8 decimal places")
    expect(dialog.get_by_label("Price per produced GB (ingress)")).to_have_attribute(
        "aria-invalid", "true"
    )
    # When
    dialog.get_by_label("Price per produced GB (ingress)").fill("2")
    dialog.get_by_label("Price per consumed GB (egress)").fill("0.05")
    dialog.get_by_label("Currency").select_option("EUR")
    dialog.get_by_role("button", name="Save prices").click()
    # Then: orders produced 3 GB, at 2 EUR per GB
    expect(dialog).to_be_hidden()
    expect(page.locator("#table tbody tr").first.locator("td").last).to_have_text("€6.00")
    expect(page.locator("#prices")).to_contain_text("2 EUR per produced GB")
    assert live_console.store.get_prices().currency == "EUR"


def test_the_page_fits_a_phone_screen_without_sideways_scrolling(
    browser: Browser, live_console: LiveConsole
) -> None:
    # Given
    phone = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = phone.new_page()
    # When
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    # Then: only the table scrolls sideways, inside its own box
    expect(rows(page)).to_have_count(3)
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    phone.close()
    assert widths[0] <= widths[1]


def test_a_session_that_ends_while_the_page_is_open_leads_back_to_sign_in(
    page: Page, live_console: LiveConsole
) -> None:
    # Given
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    live_console.store.set_user_password(VIEWER, hash_password("changed-password-9"))
    # When
    page.get_by_role("tab", name="Egress").click()
    # Then
    expect(page).to_have_url(re.compile(r"/login\?next=%2F%3F.*tab%3Degress"))


def test_byte_counts_beyond_two_to_the_53_keep_every_digit_on_hover(
    page: Page, live_console: LiveConsole
) -> None:
    # Given 2**53 + 1 bytes, which a JavaScript number would round to 2**53
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    huge = 2**53 + 1
    live_console.store.write_usage(
        "huge", [record("east", "firehose", Direction.INGRESS, at, huge)]
    )
    # When
    sign_in(
        page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW + "&tab=ingress&metric=bytes"
    )
    # Then
    total = page.locator("#table tbody tr").first.locator("td").last
    expect(total).to_have_attribute("title", f"{huge:,} bytes")
    expect(total).to_have_text("9.01 PB")


def test_percentages_show_one_decimal_and_overall_falls_back_from_bytes_to_cost(
    page: Page, live_console: LiveConsole
) -> None:
    # Given: orders consumed 1 GB and billing 2 GB of the 3 GB consumed
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW + "&tab=egress")
    page.get_by_label("Metric").select_option("percentage")
    expect(page.locator("#table tbody tr").first.locator("td").last).to_have_text("66.7 %")
    page.get_by_label("Metric").select_option("bytes")
    expect(page.locator("#table tbody tr").first.locator("td").last).to_have_text("2 GB")
    # When
    page.get_by_role("tab", name="Overall Cost").click()
    # Then: Overall Cost has no bytes metric, so the page shows cost instead of an error
    expect(page.get_by_label("Metric")).to_have_value("cost")
    expect(page.locator("#table tbody tr").first.locator("td").last).to_have_text("$0.35")
    expect(page.get_by_role("alert")).to_be_hidden()


def test_the_page_says_it_is_loading_until_the_view_arrives(
    page: Page, live_console: LiveConsole
) -> None:
    # Given the API's answers held back until the test lets them go
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    held: list[Route] = []
    page.route(re.compile(r"/api/v1/chargeback\?"), lambda route: held.append(route))
    page.get_by_role("tab", name="Egress").click()
    # When
    expect(page.locator("#status")).to_have_text("Loading…")
    expect(page.locator("#view")).to_have_attribute("aria-busy", "true")
    for route in held:
        route.continue_()
    page.unroute(re.compile(r"/api/v1/chargeback\?"))
    # Then
    expect(page.locator("#view")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#status")).to_have_text("")
    expect(rows(page)).to_have_text(["billing", "orders"])
