"""Browser fixtures: Debian's chromium driven by Playwright, against a live uvicorn server.

Each test gets its own seeded SQLite store and its own server on a free loopback port, so
prices changed in one test are never seen by another. The browser is started once per module.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from chargeback.console import create_app, hash_password
from chargeback.store import Store, open_store
from tests.console.seed import seed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN, ADMIN_PASSWORD = "ada", "ada-password-1"
VIEWER, VIEWER_PASSWORD = "vic", "vic-password-1"
SEVEN_DAYS_VIEW = "/?period=7D&asOf=2026-11-30"


@dataclass(frozen=True)
class LiveConsole:
    """A console served over real HTTP: its base URL and its store."""

    url: str
    store: Store


@pytest.fixture(scope="session")
def user_hashes() -> dict[str, str]:
    return {ADMIN: hash_password(ADMIN_PASSWORD), VIEWER: hash_password(VIEWER_PASSWORD)}


# Module scope, not session: Playwright's sync driver keeps an event loop of its own while it
# runs, which would break the asyncio tests of modules that run after this one.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless. Missing chromium fails the tests (CI installs it)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def store(tmp_path: Path, user_hashes: dict[str, str]) -> Iterator[Store]:
    """A seeded store (tests/console/seed.py) with admin `ada` and viewer `vic`."""
    opened = open_store(f"sqlite:///{tmp_path / 'browser.db'}")
    opened.add_user(ADMIN, user_hashes[ADMIN], "admin")
    opened.add_user(VIEWER, user_hashes[VIEWER], "viewer")
    seed(opened)
    yield opened
    opened.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_console(store: Store) -> Iterator[LiveConsole]:
    """The console on a free loopback port, in a thread; stopped after the test."""
    config = uvicorn.Config(
        create_app(store), host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the console thread died while starting"
        assert time.monotonic() < deadline, "the console did not start within 30 s"
        time.sleep(0.05)
    yield LiveConsole(url=f"http://127.0.0.1:{config.port}", store=store)
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies), laptop-sized, English, downloads allowed."""
    created = browser.new_context(
        locale="en-US", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    created.set_default_timeout(15_000)
    yield created
    created.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    opened.on("dialog", lambda dialog: pytest.fail(f"unexpected JS dialog: {dialog.message}"))
    yield opened
    opened.close()


def sign_in(page: Page, console: LiveConsole, name: str, password: str, path: str) -> None:
    """Open `path`, get sent to the login page, sign in, and wait for the table to load."""
    page.goto(console.url + path)
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_view(page)


def wait_for_view(page: Page) -> None:
    """Wait until the page has finished loading its view (or shown its error)."""
    # A locator, not wait_for_function: the page's CSP forbids the eval that the latter uses.
    expect(page.locator("#view")).to_have_attribute("aria-busy", "false")


def table_names(page: Page) -> list[str]:
    return page.locator("#table tbody th").all_inner_texts()


def screenshot_target(name: str) -> Path | None:
    """Where to save the guide's screenshot `name`: only when asked
    (CHARGEBACK_UPDATE_SCREENSHOTS=1), so that ordinary test runs leave the work tree unchanged."""
    if os.environ.get("CHARGEBACK_UPDATE_SCREENSHOTS") != "1":
        return None
    return Path(__file__).resolve().parents[2] / "docs" / "images" / name


def save_screenshot(
    page: Page, tmp_path: Path, name: str, *, full_page: bool = False, is_for_docs: bool = False
) -> Path:
    """Screenshot the viewport (or the whole page) into tmp_path, to look at; one `is_for_docs`
    also into docs/images when asked. Return the tmp_path copy."""
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=full_page)
    target = screenshot_target(name) if is_for_docs else None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
    return shot
