"""The store fixtures: every store test runs once on SQLite and once on PostgreSQL.

On PostgreSQL each test gets a schema of its own (dropped afterwards), on SQLite a file of its
own, so tests never see each other's rows and may run in any order. A PostgreSQL server that
cannot be reached fails the test: it is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from chargeback.store import Store, open_store
from tests.conftest import postgres_schema_url

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str) -> Iterator[str]:
    """A URL of an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'chargeback.db'}"
        return
    with postgres_schema_url(postgres_url, "test") as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, empty store on SQLite or PostgreSQL."""
    opened = open_store(store_url)
    yield opened
    opened.close()


def wipe(url: str) -> None:
    """Create the schema if needed, then delete every row (hypothesis examples share a database)."""
    open_store(url).close()
    engine = sa.create_engine(url)
    names = [
        "api_tokens",
        "console_users",
        "gateway_users",
        "settings",
        "price_settings",
        "usage_months",
        "usage_days",
        "rollup_zones",
        "usage_clusters",
        "usage_batches",
        "usage",
    ]
    with engine.begin() as connection:
        for name in names:
            connection.exec_driver_sql(f"DELETE FROM {name}")  # noqa: S608 (fixed names)
    engine.dispose()
