"""Metrics and flushing, seen from outside. (Versions newer than the gateway knows cannot be
shown with Tansu, whose versions kio all knows: tests/unit/gateway/test_connection.py.)"""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

import httpx
import pytest
from kio.schema.produce.v9.request import PartitionProduceData, ProduceRequest, TopicProduceData
from kio.static.primitive import Records, i16, i32, i32Timedelta

from chargeback.broker import EmbeddedBroker, free_port
from chargeback.store import open_store
from chargeback.usage import Direction
from tests.gateway.clients import produce
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import CLIENT_ID, RawKafka, record_batch, stored_data_bytes

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


def _produce_to_an_empty_topic_name(records: bytes) -> ProduceRequest:
    """A Produce request (acks=0) naming its topic "": no client library sends one."""
    return ProduceRequest(
        transactional_id=None,
        acks=i16(0),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=5)),
        topic_data=(
            TopicProduceData(
                name="",  # type: ignore[arg-type]
                partition_data=(PartitionProduceData(index=i32(0), records=Records(records)),),
            ),
        ),
    )


def _stored_rows(database: Path) -> set[tuple[str, str, str, int]]:
    """(service account, topic, direction, bytes), read from the database file itself."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT service_account, topic, direction, bytes FROM usage")
        return set(rows.fetchall())


def test_an_empty_topic_name_is_stored_under_a_placeholder_and_holds_nothing_back(
    broker: EmbeddedBroker, topic: str, tmp_path: Path
) -> None:
    # Given a gateway writing to a real SQLite store
    database = tmp_path / "usage.db"
    store = open_store(f"sqlite:///{database}")
    gateway = GatewayThread(broker.bootstrap, store).start()
    batch = record_batch([b"nameless"] * 20)
    try:
        with RawKafka(gateway.bootstrap) as kafka:
            kafka.send(_produce_to_an_empty_topic_name(batch))
            kafka.receive_raw()  # Tansu answers even acks=0: the gateway has counted it
        # When usage of a real topic follows, and the gateway flushes
        produce(gateway.bootstrap, topic, [b"named"] * 30, **{"client.id": "named"})
        is_flushed = gateway.flush()
    finally:
        is_flushed_at_stop = gateway.stop()
        store.close()
    # Then both reach the store: nothing refused, nothing pending
    assert (is_flushed, is_flushed_at_stop) == (True, True)
    assert _stored_rows(database) == {
        (CLIENT_ID, "(empty topic name)", "ingress", len(batch)),
        ("named", topic, "ingress", stored_data_bytes(broker.bootstrap, topic)),
    }
    registry = gateway.gateway.metrics.registry
    assert registry.get_sample_value("chargeback_gateway_quarantined_records_total") == 0.0
