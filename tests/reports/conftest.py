"""Report engine tests on the real store: each runs once on SQLite and once on PostgreSQL.

Each test gets a fresh SQLite file or a fresh PostgreSQL schema. A PostgreSQL server that
cannot be reached fails the test; it is never skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from chargeback.store import Store, open_store

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str) -> Iterator[str]:
    """The URL of an empty database on SQLite or PostgreSQL, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reports.db'}"
        return
    schema = f"reports_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, empty store."""
    opened = open_store(store_url)
    yield opened
    opened.close()
