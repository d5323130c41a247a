"""The Chargeback page in a real headless Chromium: sign-in, tabs, periods, filter, sort, units,
states, keyboard use, prices, phone width. Expected values come from tests/console/seed.py.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    SEVEN_DAYS_VIEW,
    VIEWER,
    VIEWER_PASSWORD,
    LiveConsole,
    sign_in,
    table_names,
    wait_for_view,
)


def rows(page: Page) -> object:
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
