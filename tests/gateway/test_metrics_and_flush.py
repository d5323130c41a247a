"""Metrics and flushing, seen from outside. (Versions newer than the gateway knows cannot be
shown with Tansu, whose versions kio all knows: tests/unit/gateway/test_connection.py.)"""

from __future__ import annotations

import httpx
import pytest

from chargeback.broker import EmbeddedBroker, free_port
from chargeback.usage import Direction
from tests.gateway.clients import produce
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import stored_data_bytes

pytestmark = pytest.mark.broker


def test_metrics_endpoint_shows_connections_requests_and_bytes(
    broker: EmbeddedBroker, sink: MemorySink, topic: str
) -> None:
    # Given
    metrics_port = free_port()
    gateway = GatewayThread(broker.bootstrap, sink, metrics_port=metrics_port).start()
    try:
        produce(gateway.bootstrap, topic, [b"m" * 500] * 40, **{"client.id": "metered"})
        gateway.flush()
        # When
        page = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    finally:
        gateway.stop()
    # Then
    expected = stored_data_bytes(broker.bootstrap, topic)
    assert (
        f'chargeback_gateway_metered_bytes_total{{direction="ingress"}} {float(expected)}' in page
    )
    assert 'chargeback_gateway_requests_total{api="produce"}' in page
    assert "chargeback_gateway_connections_total" in page
    assert "chargeback_gateway_flushes_total 1.0" in page


def test_a_store_outage_keeps_the_counts_and_retries_the_same_batch(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    sink.failures_to_simulate = 2
    produce(gateway.bootstrap, topic, [b"kept"] * 30, **{"client.id": "patient"})
    # When
    outcomes = [gateway.flush(), gateway.flush(), gateway.flush()]
    # Then
    assert outcomes == [False, False, True]
    assert len(sink.batches) == 1
    assert sink.bytes_by(Direction.INGRESS) == {
        ("patient", topic): stored_data_bytes(broker.bootstrap, topic)
    }


def test_stopping_the_gateway_flushes_what_was_counted(
    broker: EmbeddedBroker, sink: MemorySink, topic: str
) -> None:
    # Given
    gateway = GatewayThread(broker.bootstrap, sink).start()
    produce(gateway.bootstrap, topic, [b"last words"] * 30, **{"client.id": "leaver"})
    # When
    is_flushed = gateway.stop()
    # Then
    assert is_flushed
    assert sink.bytes_by(Direction.INGRESS) == {
        ("leaver", topic): stored_data_bytes(broker.bootstrap, topic)
    }
