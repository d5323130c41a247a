"""The price dialog in a real headless Chromium: admins only, the pricing rules' messages, new
prices at once, and what it says when the console or its store cannot answer.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    SEVEN_DAYS_VIEW,
    VIEWER,
    VIEWER_PASSWORD,
    LiveConsole,
    sign_in,
)
from tests.console.conftest import store_gone_away
from tests.console.seed import PRICES

pytestmark = pytest.mark.browser


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


def test_the_price_dialog_says_why_when_the_prices_cannot_be_loaded(
    page: Page, live_console: LiveConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the store goes away after the page has loaded
    sign_in(page, live_console, ADMIN, ADMIN_PASSWORD, SEVEN_DAYS_VIEW)
    monkeypatch.setattr(live_console.store, "get_prices", store_gone_away)
    # When
    page.get_by_role("button", name="Change prices").click()
    # Then: the API's 503 message, no "undefined" prices, nothing to save
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("alert")).to_have_text(
        "The prices could not be loaded: the store could not answer; the console's log says why."
    )
    expect(dialog.get_by_label("Price per produced GB (ingress)")).to_have_value("")
    expect(dialog.get_by_role("button", name="Save prices")).to_be_disabled()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    # And once the store answers again, the dialog offers the prices as usual
    monkeypatch.undo()
    dialog.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Change prices").click()
    expect(dialog.get_by_role("alert")).to_be_hidden()
    expect(dialog.get_by_label("Price per produced GB (ingress)")).to_have_value("0.10")
    expect(dialog.get_by_role("button", name="Save prices")).to_be_enabled()


def test_a_price_change_that_cannot_reach_the_console_says_so_and_changes_nothing(
    page: Page, live_console: LiveConsole
) -> None:
    # Given the network fails for the dialog's PUT only
    sign_in(page, live_console, ADMIN, ADMIN_PASSWORD, SEVEN_DAYS_VIEW)

    def refuse_saves(route: Route) -> None:
        if route.request.method == "PUT":
            route.abort("connectionrefused")
        else:
            route.fallback()

    page.route("**/api/v1/pricing", refuse_saves)
    page.get_by_role("button", name="Change prices").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Price per produced GB (ingress)").fill("2")
    # When
    dialog.get_by_role("button", name="Save prices").click()
    # Then: the dialog stays open with the reason; the stored prices are untouched
    expect(dialog.get_by_role("alert")).to_contain_text(
        "The prices were not saved: the console could not be reached"
    )
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Price per produced GB (ingress)")).to_have_value("2")
    assert live_console.store.get_prices() == PRICES
