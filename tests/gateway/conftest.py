"""Fixtures for gateway tests: a real Tansu broker and a gateway in front of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from chargeback.broker import EmbeddedBroker
from tests.gateway.harness import GatewayThread, MemorySink

pytestmark = pytest.mark.broker


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A fresh Tansu broker (memory storage) for one test."""
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture
def sink() -> MemorySink:
    """Where the gateway writes usage."""
    return MemorySink()


@pytest.fixture
def gateway(broker: EmbeddedBroker, sink: MemorySink) -> Iterator[GatewayThread]:
    """A gateway (client-id principal) in front of `broker`."""
    running = GatewayThread(broker.bootstrap, sink).start()
    yield running
    running.stop()


@pytest.fixture
def topic() -> str:
    """A topic name no other test uses."""
    return f"topic-{uuid.uuid4().hex[:12]}"
