"""Fixtures shared by every test package. Package-specific fixtures live in their conftest.py."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

POSTGRES_URL = os.environ.get(
    "CHARGEBACK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL database the store tests use (CI starts the server)."""
    return POSTGRES_URL


@contextmanager
def postgres_schema_url(postgres_url: str, prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema named `prefix`_<random>, dropped on exit."""
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
