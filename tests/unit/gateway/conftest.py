"""Fixtures for the gateway's unit tests."""

from __future__ import annotations

import pytest

from tests.gateway.harness import MemorySink


@pytest.fixture
def sink() -> MemorySink:
    """Where a gateway under test writes usage."""
    return MemorySink()
