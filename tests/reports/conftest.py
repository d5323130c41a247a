"""Report engine tests on the real store: each runs once on SQLite and once on PostgreSQL.

Each test gets a fresh SQLite file or a fresh PostgreSQL schema. A PostgreSQL server that
cannot be reached fails the test; it is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chargeback.store import Store, open_store
from tests.conftest import postgres_schema_url

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str) -> Iterator[str]:
    """The URL of an empty database on SQLite or PostgreSQL, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reports.db'}"
        return
    with postgres_schema_url(postgres_url, "reports") as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, empty store."""
    opened = open_store(store_url)
    yield opened
    opened.close()
