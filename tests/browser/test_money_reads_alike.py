"""Money reads the same on the Chargeback page and in `chargeback report`'s table: the
currency's usual decimals, and two significant digits for an amount those would show as zero
(docs/user-guide/console.md, "How money reads").
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from typer.testing import CliRunner

from chargeback.cli import app as cli_app
from chargeback.cli._table import CURRENCY_DECIMALS, money_text
from chargeback.pricing import CURRENCY_CODES
from tests.browser.conftest import SEVEN_DAYS_VIEW, VIEWER, VIEWER_PASSWORD, LiveConsole, sign_in
from tests.console.seed import PRICES

pytestmark = pytest.mark.browser

# The seed's 7D Overall Cost totals row (tests/console/seed.py): 11-24 0.00015 (=evil),
# 11-25 to 11-27 nothing, 11-28 0.05, 11-29 0.05, 11-30 0.40; in all 0.50015.
TOTALS_ROW = {
    "USD": ["0.00015", "0.00", "0.00", "0.00", "0.05", "0.05", "0.40", "0.50"],
    "JPY": ["0.00015", "0", "0", "0", "0.050", "0.050", "0.40", "1"],
    "KWD": ["0.00015", "0.000", "0.000", "0.000", "0.050", "0.050", "0.400", "0.500"],
}


def amount(text: str) -> str:
    """A cell without its currency sign or code: "$0.05" and "KWD 0.050" read "0.05", "0.050"."""
    return re.sub(r"[^0-9.,-]", "", text)


def cli_rows(db_url: str) -> dict[str, list[str]]:
    """The number cells of `chargeback report`'s table of the page's view, by row name."""
    printed = CliRunner().invoke(
        cli_app,
        ["--db", db_url, "report", "--period", "7D", "--as-of", "2026-11-30", "--tz", "UTC",
         "--wide"],
    )  # fmt: skip
    assert printed.exit_code == 0, printed.output
    rows = {}
    for line in printed.stdout.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 9 and cells[0] != "Service account":
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize("currency", list(TOTALS_ROW))
def test_the_page_and_the_cli_table_read_every_amount_alike(
    page: Page, live_console: LiveConsole, currency: str
) -> None:
    # Given the seed's prices, in this currency
    live_console.store.set_prices(replace(PRICES, currency=currency))
    # When the page and the CLI show the 7D Overall Cost view
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, SEVEN_DAYS_VIEW)
    expect(page.locator("#table tbody th")).to_have_count(3)
    on_page = {
        row.locator("th").inner_text(): [
            amount(cell) for cell in row.locator("td").all_inner_texts()
        ]
        for row in page.locator("#table tbody tr, #table tfoot tr").all()
    }
    in_terminal = cli_rows(live_console.store.url)
    # Then both read the same, as the rule says
    assert on_page["Total"] == TOTALS_ROW[currency]
    assert in_terminal == on_page


def test_the_cli_rounds_each_currency_to_the_decimals_the_browser_uses(page: Page) -> None:
    # Given every currency a price may be given in
    codes = sorted(CURRENCY_CODES)
    # When the browser's Intl says its usual decimals, as the page formats money with it
    decimals = page.evaluate(
        """codes => Object.fromEntries(codes.map((code) => [code,
            new Intl.NumberFormat("en-US", { style: "currency", currency: code })
                .resolvedOptions().maximumFractionDigits]))""",
        codes,
    )
    # Then the CLI's table of decimals other than 2 is the same
    assert {code: places for code, places in decimals.items() if places != 2} == CURRENCY_DECIMALS


SMALL_AMOUNTS = ["0.000198", "0.00019", "0.0000099999", "0.00499", "0.0000012345", "0.000095"]


def test_the_cli_shows_small_amounts_with_the_digits_the_browser_shows(page: Page) -> None:
    # Given amounts below a cent, some of which round to a trailing zero or up to a power of ten
    # When the browser's Intl formats them with the two significant digits the page asks for
    in_browser = page.evaluate(
        """amounts => amounts.map((amount) => new Intl.NumberFormat("en-US", {
            style: "currency", currency: "USD", roundingMode: "halfExpand",
            minimumSignificantDigits: 2, maximumSignificantDigits: 2 }).format(amount))""",
        SMALL_AMOUNTS,
    )
    # Then the CLI's table shows the same digits, trailing zeros included
    assert in_browser[0] == "$0.00020"
    assert [amount(text) for text in in_browser] == [
        money_text(Decimal(value), "USD") for value in SMALL_AMOUNTS
    ]
