"""Console fixtures: a store with an admin and a viewer, the app, an in-process HTTP client.

Password hashes are made once per session (argon2 is slow on purpose); every test gets its own
store, so no test sees another's users, prices or usage.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
from fastapi import FastAPI

from chargeback.console import ConsoleSettings, create_app, hash_api_token, hash_password
from chargeback.store import Store, StoreError, open_store
from tests.conftest import postgres_schema_url

ADMIN = "ada"
ADMIN_PASSWORD = "ada-password-1"
VIEWER = "vic"
VIEWER_PASSWORD = "vic-password-1"
ADMIN_TOKEN = "cbt_admin-token-for-tests"
VIEWER_TOKEN = "cbt_viewer-token-for-tests"
BASE_URL = "http://127.0.0.1"


@dataclass(frozen=True)
class Hashes:
    admin: str
    viewer: str


@pytest.fixture(scope="session")
def password_hashes() -> Hashes:
    """argon2 hashes of the two test passwords, made once."""
    return Hashes(admin=hash_password(ADMIN_PASSWORD), viewer=hash_password(VIEWER_PASSWORD))


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store with no users."""
    opened = open_store(f"sqlite:///{tmp_path / 'console.db'}")
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_on_each_backend(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> Iterator[Store]:
    """A fresh store on SQLite, then on PostgreSQL (own schema, dropped after the test)."""
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'console.db'}")
        yield opened
        opened.close()
        return
    with postgres_schema_url(postgres_url, "console") as url:
        opened = open_store(url)
        try:
            yield opened
        finally:
            opened.close()


@pytest.fixture
def store(empty_store: Store, password_hashes: Hashes) -> Store:
    """A store with admin `ada` and viewer `vic`, each with an API token."""
    return with_users(empty_store, password_hashes)


def with_users(store: Store, hashes: Hashes) -> Store:
    """Add the admin and the viewer, and one API token for each, to `store`."""
    store.add_user(ADMIN, hashes.admin, "admin")
    store.add_user(VIEWER, hashes.viewer, "viewer")
    store.add_api_token("admin-script", hash_api_token(ADMIN_TOKEN), ADMIN)
    store.add_api_token("viewer-script", hash_api_token(VIEWER_TOKEN), VIEWER)
    return store


@pytest.fixture
def console_settings() -> ConsoleSettings:
    """Default settings; a test module may override this fixture."""
    return ConsoleSettings()


@pytest.fixture
def app(store: Store, console_settings: ConsoleSettings) -> FastAPI:
    """The console over `store`."""
    return create_app(store, console_settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process (no socket)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    """Headers that authenticate with an API token."""
    return {"Authorization": f"Bearer {token}"}


ADMIN_HEADERS = bearer(ADMIN_TOKEN)
VIEWER_HEADERS = bearer(VIEWER_TOKEN)

_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


async def sign_in(client: httpx.AsyncClient, name: str, password: str) -> str:
    """Sign in through the login form like a browser; return the session's CSRF token."""
    form = await client.get("/login")
    login_token = _HIDDEN_CSRF.search(form.text)
    assert login_token, "the login form has a CSRF field"
    answer = await client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": login_token.group(1)},
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/")
    session_token = _META_CSRF.search(page.text)
    assert session_token, "the page carries the session's CSRF token"
    return session_token.group(1)


def login_form_token(html: str) -> str:
    """The login CSRF token in a login page."""
    found = _HIDDEN_CSRF.search(html)
    assert found
    return found.group(1)


def store_gone_away(*args: object) -> NoReturn:
    """A store read when the database is unreachable (monkeypatch it over a store method)."""
    raise StoreError("store at postgresql://db.internal/billing: connection refused")
