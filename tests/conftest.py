"""Fixtures shared by every test package. Package-specific fixtures live in their conftest.py."""

import os

import pytest

POSTGRES_URL = os.environ.get(
    "CHARGEBACK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL database the store tests use (CI starts the server)."""
    return POSTGRES_URL
