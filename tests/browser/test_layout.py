"""How the Chargeback page lays itself out on a laptop and on a phone: the latest day and the
Total in view when a view opens, a header on one line, a legend that shows every name, a title
that never breaks inside a date. Some tests save screenshots into their tmp_path to look at;
the phone's month is also the guide's (docs/images, with CHARGEBACK_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypedDict

import pytest
from playwright.sync_api import Browser, FloatRect, Locator, Page, expect

from chargeback.usage import Direction
from tests.browser.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    VIEWER,
    VIEWER_PASSWORD,
    LiveConsole,
    save_screenshot,
    sign_in,
)
from tests.console.seed import record

pytestmark = pytest.mark.browser

MONTH_VIEW = "/?period=30D&asOf=2026-11-30"
FIRST_DAY, LATEST_DAY = "2026-11-01", "2026-11-30"
GB = 10**9


class Viewport(TypedDict):
    width: int
    height: int


LAPTOP: Viewport = {"width": 1280, "height": 900}
PHONE: Viewport = {"width": 390, "height": 844}
SCREENS = {"laptop": LAPTOP, "phone": PHONE}


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def sized_page(browser: Browser, screen: str) -> Iterator[Page]:
    """A page of a fresh browser profile at the size of `screen`."""
    context = browser.new_context(locale="en-US", viewport=SCREENS[screen])
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def add_month_of_usage(console: LiveConsole, accounts: list[str]) -> None:
    """Each of `accounts` produces a different amount every day of November 2026."""
    first = datetime(2026, 11, 1, 12, tzinfo=UTC)
    console.store.write_usage(
        "month",
        [
            record("east", name, Direction.INGRESS, first + timedelta(days=day), (rank + 1) * GB)
            for rank, name in enumerate(accounts)
            for day in range(30)
        ],
    )


def box(element: Locator) -> FloatRect:
    found = element.bounding_box()
    assert found is not None, "the element is shown"
    return found


def is_inside(inner: FloatRect, outer: FloatRect) -> bool:
    """Whether `inner` lies wholly within `outer` (to half a pixel)."""
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def header(page: Page, label: str) -> Locator:
    return page.locator("#table thead th").filter(
        has=page.locator(f'button[data-column="{label}"]')
    )


def table_box(page: Page) -> FloatRect:
    """The part of the table the reader sees: the scroll box inside its border and scroll bar."""
    wrap = page.locator("#table-wrap")
    outer = box(wrap)
    left, top, width, height = wrap.evaluate(
        "wrap => [wrap.clientLeft, wrap.clientTop, wrap.clientWidth, wrap.clientHeight]"
    )
    return {"x": outer["x"] + left, "y": outer["y"] + top, "width": width, "height": height}


def test_a_month_opens_with_its_latest_day_and_the_total_in_view(
    sized_page: Page, live_console: LiveConsole, screen: str, tmp_path: Path
) -> None:
    # When a month, wider than the screen, is opened
    sign_in(sized_page, live_console, VIEWER, VIEWER_PASSWORD, MONTH_VIEW)
    name = "console-phone.png" if screen == "phone" else f"month-{screen}.png"
    save_screenshot(sized_page, tmp_path, name, full_page=True, is_for_docs=screen == "phone")
    # Then the latest day and Total are in the table's visible box, the first day scrolled away
    visible = table_box(sized_page)
    assert is_inside(box(header(sized_page, LATEST_DAY)), visible)
    assert is_inside(box(header(sized_page, "total")), visible)
    assert not is_inside(box(header(sized_page, FIRST_DAY)), visible)


def test_total_and_the_names_stay_in_view_while_the_days_scroll_under_them(
    sized_page: Page, live_console: LiveConsole
) -> None:
    # Given a month open at its latest day
    sign_in(sized_page, live_console, VIEWER, VIEWER_PASSWORD, MONTH_VIEW)
    total = sized_page.locator("#table tbody tr").first.locator("td").last
    name = sized_page.locator("#table tbody th").first
    before = (box(name)["x"], box(total)["x"])
    # When the table is scrolled back to its first day
    sized_page.locator("#table-wrap").evaluate("wrap => (wrap.scrollLeft = 0)")
    # Then the first day shows, and names and totals have not moved (but for rounding)
    after = (box(name)["x"], box(total)["x"])
    assert is_inside(box(header(sized_page, FIRST_DAY)), table_box(sized_page))
    assert after == pytest.approx(before, abs=0.5)


def test_sorting_by_a_day_keeps_the_place_and_the_focus_and_a_new_period_opens_at_its_end(
    page: Page, live_console: LiveConsole
) -> None:
    # Given a month scrolled back to its first day, whose header has the keyboard focus
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, MONTH_VIEW)
    page.locator("#table-wrap").evaluate("wrap => (wrap.scrollLeft = 0)")
    header(page, FIRST_DAY).get_by_role("button").focus()
    # When Enter sorts by that day
    page.keyboard.press("Enter")
    # Then the table is sorted, still at its first day, the focus on the same header
    expect(header(page, FIRST_DAY)).to_have_attribute("aria-sort", "descending")
    expect(header(page, FIRST_DAY).get_by_role("button")).to_be_focused()
    assert page.locator("#table-wrap").evaluate("wrap => wrap.scrollLeft") == 0
    # And another period, whose columns have no such day, drops that sort (no error) and opens
    # at its latest column
    page.get_by_label("6M").check()
    expect(header(page, "total")).to_have_attribute("aria-sort", "descending")
    expect(page).not_to_have_url(re.compile(r"sort="))
    assert is_inside(box(header(page, "2026-11")), table_box(page))


def test_a_header_reached_with_tab_is_scrolled_out_from_under_total(
    browser: Browser, live_console: LiveConsole
) -> None:
    # Given a week on a phone, scrolled back to its first day
    context = browser.new_context(locale="en-US", viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_console, VIEWER, VIEWER_PASSWORD, "/?period=7D&asOf=2026-11-30")
    page.locator("#table-wrap").evaluate("wrap => (wrap.scrollLeft = 0)")
    header(page, "2026-11-28").get_by_role("button").focus()
    # When Tab moves on to the next day's header, which sits under the sticky Total
    page.keyboard.press("Tab")
    # Then that header was scrolled into the visible part between the names and Total
    focused = header(page, "2026-11-29")
    expect(focused.get_by_role("button")).to_be_focused()
    names, total = box(page.locator("#table thead th").first), box(header(page, "total"))
    shown = box(focused)
    context.close()
    assert names["x"] + names["width"] <= shown["x"] + 0.5
    assert shown["x"] + shown["width"] <= total["x"] + 0.5


def test_on_a_phone_the_header_is_one_line_and_the_title_never_breaks_a_date(
    browser: Browser, live_console: LiveConsole, tmp_path: Path
) -> None:
    # When an admin opens a month on a phone
    context = browser.new_context(locale="en-US", viewport=PHONE)
    page = context.new_page()
    view = MONTH_VIEW + "&tz=America/Argentina/Buenos_Aires"
    sign_in(page, live_console, ADMIN, ADMIN_PASSWORD, view)
    save_screenshot(page, tmp_path, "phone-top.png", full_page=True)
    # Then brand, user and "Sign out" share one line
    brand = box(page.locator(".topbar .brand"))
    sign_out = box(page.get_by_role("button", name="Sign out"))
    bar = box(page.locator(".topbar"))
    # And the title wraps over lines, but between words: each date whole on one line
    title = box(page.locator("#period-title"))
    dates = page.locator("#period-title .unbroken")
    expect(dates).to_have_text(["2026-11-01", "2026-11-30"])
    line_counts = [date.evaluate("span => span.getClientRects().length") for date in dates.all()]
    one_line = box(dates.first)["height"]
    context.close()
    assert sign_out["y"] < brand["y"] + brand["height"]
    assert bar["height"] < 2 * sign_out["height"]
    assert title["height"] > 1.5 * one_line
    assert line_counts == [1, 1]


def test_the_legend_shows_every_series_name_without_paging_above_nothing_else(
    sized_page: Page, live_console: LiveConsole, screen: str, tmp_path: Path
) -> None:
    # Given more accounts than the chart has series: eight and "Other"
    accounts = [f"team-{letter}-service" for letter in "abcdefghijk"]
    add_month_of_usage(live_console, accounts)
    # When the month is shown
    sign_in(sized_page, live_console, VIEWER, VIEWER_PASSWORD, MONTH_VIEW)
    expect(sized_page.locator("#table tbody tr")).to_have_count(len(accounts) + 3)
    save_screenshot(sized_page, tmp_path, f"legend-{screen}.png", full_page=True)
    # Then every series name is drawn whole inside the chart, with no page counter ("1/3"),
    # and below every axis label
    chart = sized_page.locator("#chart")
    texts = chart.locator("svg text")
    names = sized_page.locator("#table tbody th").all_inner_texts()
    legend_names = [name for name in texts.all_text_contents() if name in {*names, "Other"}]
    legend_boxes = [box(texts.filter(has_text=name).first) for name in legend_names]
    axis_boxes = [box(text) for text in texts.all() if text.text_content() not in legend_names]
    assert len(legend_names) == 9
    assert "Other" in legend_names
    assert not any("/" in text for text in texts.all_text_contents())
    assert all(is_inside(legend, box(chart)) for legend in legend_boxes)
    lowest_axis_label = max(axis["y"] + axis["height"] for axis in axis_boxes)
    assert min(legend["y"] for legend in legend_boxes) >= lowest_axis_label
