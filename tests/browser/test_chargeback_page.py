"""The Chargeback page in a real headless Chromium: sign-in, tabs, periods, filter, sort, units,
states, keyboard use, prices, phone width. Expected values come from tests/console/seed.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

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
    table_names,
)
from tests.console.seed import record

pytestmark = pytest.mark.browser


def rows(page: Page) -> Locator:
    return page.locator("#table tbody th")


def left_edge(element: Locator) -> float:
    """Where `element` starts on screen, in CSS pixels from the viewport's left."""
    box = element.bounding_box()
    assert box is not None, "the element is shown"
    return box["x"]


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


def test_the_keyboard_alone_sorts_with_space_walks_the_periods_and_leaves_the_dialog(
    page: Page, live_console: LiveConsole
) -> None:
    # Given
    sign_in(page, live_console, ADMIN, ADMIN_PASSWORD, SEVEN_DAYS_VIEW)
    page.locator("#table thead th").first.get_by_role("button").focus()
    # When Space on a column header
    page.keyboard.press("Space")
    # Then it sorts like a click
    expect(rows(page)).to_have_text(["=evil", "billing", "orders"])
    expect(page).to_have_url(re.compile(r"sort=service_account%3Aasc"))
    # When the arrow keys move through the period radios
    page.get_by_label("7D").focus()
    page.keyboard.press("ArrowRight")
    # Then each step is a new view
    expect(page.get_by_label("30D")).to_be_checked()
    expect(page).to_have_url(re.compile(r"period=30D"))
    expect(page.locator("#table thead th")).to_have_count(32)  # name, 30 days, total
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_label("7D")).to_be_checked()
    expect(page.locator("#table thead th")).to_have_count(9)
    # When the price dialog opens from the keyboard
    page.get_by_role("button", name="Change prices").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Price per produced GB (ingress)")).to_be_focused()
    # Then Tab cycles inside it: past its last button, back to its first field, never the page
    dialog.get_by_role("button", name="Save prices").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Price per produced GB (ingress)")).to_be_focused()
    # And Escape closes it, focus back on the button that opened it
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Change prices")).to_be_focused()


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


def test_amounts_below_a_cent_show_their_significant_digits_in_cells_totals_and_axis(
    page: Page, live_console: LiveConsole
) -> None:
    # Given =evil's 1.5 MB produced on 11-24 at 0.10 USD per GB: 0.00015 USD, its only cost
    view = SEVEN_DAYS_VIEW + "&filter=evil"
    # When
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, view)
    # Then the cells, the row's total and the totals row read 0.00015, not $0.00
    cells = page.locator("#table tbody tr").first.locator("td")
    expect(cells).to_have_text(["$0.00015", *["$0.00"] * 6, "$0.00015"])
    expect(cells.first).to_have_attribute("title", re.compile(r"^0\.00015(0*) USD$"))
    expect(page.locator("#table tfoot td").first).to_have_text("$0.00015")
    expect(page.locator("#table tfoot td").last).to_have_text("$0.00015")
    # And the chart's money axis: distinct ticks from $0.00 up past the bar, none of them zero
    axis = page.locator("#chart svg text").filter(has_text="$")
    expect(axis.first).to_have_text("$0.00")
    ticks = axis.all_text_contents()
    amounts = [Decimal(tick.removeprefix("$")) for tick in ticks]
    assert len(set(ticks)) == len(ticks) >= 3, ticks
    assert amounts == sorted(amounts), ticks
    assert amounts[0] == 0 < amounts[1], ticks
    assert amounts[-1] >= Decimal("0.00015"), ticks


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


def test_back_after_filtering_empties_the_filter_box_that_still_has_the_focus(
    page: Page, live_console: LiveConsole
) -> None:
    # Given: the Ingress tab, then a filter typed into the box (which keeps the focus)
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    unfiltered = table_names(page)
    page.get_by_role("tab", name="Ingress").click()
    expect(page).to_have_url(re.compile(r"tab=ingress"))
    page.get_by_label("Filter service accounts").fill("BILL")
    expect(page).to_have_url(re.compile(r"filter=BILL"))
    expect(rows(page)).to_have_text(["billing"])
    # When
    page.go_back()
    # Then: the box shows the earlier view's filter (none), as the table does
    expect(page.get_by_role("tab", name="Overall Cost")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Filter service accounts")).to_have_value("")
    assert len(unfiltered) == 3
    expect(rows(page)).to_have_text(unfiltered)


def test_the_page_fits_a_phone_screen_and_the_table_scrolls_under_its_names(
    browser: Browser, live_console: LiveConsole, tmp_path: Path
) -> None:
    # Given
    phone = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = phone.new_page()
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    expect(rows(page)).to_have_count(3)
    name, first_day = rows(page).first, page.locator("#table tbody tr").first.locator("td").first
    page.locator(".table-wrap").evaluate("wrap => (wrap.scrollLeft = 0)")  # it opens at the end
    before = (left_edge(name), left_edge(first_day))
    # When the table scrolls sideways
    scrolled = page.locator(".table-wrap").evaluate("wrap => (wrap.scrollLeft = 200)")
    # Then the page itself never scrolls sideways; the names stay put, the days move under them
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    after = (left_edge(name), left_edge(first_day))
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    phone.close()
    assert widths[0] <= widths[1]
    assert scrolled == 200
    assert after == (before[0], before[1] - 200)


def test_every_request_the_page_makes_stays_on_the_consoles_own_origin(
    page: Page, live_console: LiveConsole
) -> None:
    # Given every request the browser sends, from the login page on
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    # When the page is used: sign-in, another tab, the chart's tooltip, the price dialog
    sign_in(page, live_console, ADMIN, ADMIN_PASSWORD, SEVEN_DAYS_VIEW)
    page.get_by_role("tab", name="Egress").click()
    expect(rows(page)).to_have_text(["billing", "orders"])
    page.locator("#chart").hover()
    page.get_by_role("button", name="Change prices").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    # Then: no CDN, no fonts, no telemetry; the machines it runs on may have no internet
    origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in requested}
    assert origins == {live_console.url}
    assert f"{live_console.url}/static/vendor/echarts/echarts.min.js" in requested


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
