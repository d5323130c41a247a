"""Metrics and flushing, seen from outside. (Versions newer than the gateway knows cannot be
shown with Tansu, whose versions kio all knows: tests/unit/gateway/test_connection.py.)"""

from __future__ import annotations

import datetime
import socket
import sqlite3
import struct
import time
from pathlib import Path

import httpx
import pytest
from kio.schema.produce.v9.request import PartitionProduceData, ProduceRequest, TopicProduceData
from kio.static.primitive import Records, i16, i32, i32Timedelta
from prometheus_client.parser import text_string_to_metric_families

from chargeback.broker import EmbeddedBroker, free_port
from chargeback.store import open_store
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, produce
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


def _scrape(metrics_port: int) -> dict[str, float]:
    """Every sample of the metrics endpoint: `name` or `name{label=value}` -> value."""
    page = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    samples = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_the_metrics_endpoint_tells_unflushed_bytes_and_when_the_last_flush_was(
    broker: EmbeddedBroker, sink: MemorySink, topic: str
) -> None:
    # Given usage counted and not yet flushed
    metrics_port = free_port()
    gateway = GatewayThread(broker.bootstrap, sink, metrics_port=metrics_port).start()
    try:
        produce(gateway.bootstrap, topic, [b"f" * 300] * 25, **{"client.id": "flusher"})
        before = _scrape(metrics_port)
        # When it is flushed
        wall_before, monotonic_before = time.time(), time.monotonic()
        assert gateway.flush()
        wall_after = time.time()
        after = _scrape(metrics_port)
        monotonic_after = time.monotonic()
    finally:
        gateway.stop()
    # Then
    stored = stored_data_bytes(broker.bootstrap, topic)
    prefix = "chargeback_gateway_"
    assert before[f"{prefix}unflushed_bytes"] == stored
    assert before[f"{prefix}last_flush_timestamp_seconds"] == 0.0
    assert after[f"{prefix}unflushed_bytes"] == 0.0
    assert wall_before <= after[f"{prefix}last_flush_timestamp_seconds"] <= wall_after
    assert 0.0 <= after[f"{prefix}flush_lag_seconds"] <= monotonic_after - monotonic_before


def test_during_a_store_outage_the_metrics_show_the_held_bytes_and_the_lag_since_success(
    broker: EmbeddedBroker, sink: MemorySink, topic: str
) -> None:
    # Given one successful flush, then usage counted while the store is down
    metrics_port = free_port()
    gateway = GatewayThread(broker.bootstrap, sink, metrics_port=metrics_port).start()
    try:
        produce(gateway.bootstrap, topic, [b"early"] * 10, **{"client.id": "early"})
        success_started = time.monotonic()
        assert gateway.flush()
        success_ended = time.monotonic()
        stored_before_outage = stored_data_bytes(broker.bootstrap, topic)
        produce(gateway.bootstrap, topic, [b"late" * 50] * 20, **{"client.id": "late"})
        sink.failures_to_simulate = 1
        assert not gateway.flush()
        # When the endpoint is scraped
        scrape_started = time.monotonic()
        samples = _scrape(metrics_port)
        scrape_ended = time.monotonic()
    finally:
        gateway.stop()
    # Then the bytes of the failed batch are held, and the lag runs from the success
    held = stored_data_bytes(broker.bootstrap, topic) - stored_before_outage
    prefix = "chargeback_gateway_"
    assert samples[f"{prefix}unflushed_bytes"] == held
    assert samples[f"{prefix}flush_failures_total"] == 1.0
    assert samples[f"{prefix}flushes_total"] == 1.0
    lag = samples[f"{prefix}flush_lag_seconds"]
    assert scrape_started - success_ended <= lag <= scrape_ended - success_started


def _closed_by_peer(connection: socket.socket) -> bool:
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(struct.pack(">i", 0), id="zero-size"),
        pytest.param(
            struct.pack(">i", 14) + struct.pack(">hhih", 3, 12, 7, -1) + b"\xff" * 4,
            id="metadata-body-is-garbage",
        ),
    ],
)
def test_a_malformed_frame_counts_as_a_frame_error(broker: EmbeddedBroker, garbage: bytes) -> None:
    # Given a gateway serving metrics
    metrics_port = free_port()
    gateway = GatewayThread(broker.bootstrap, MemorySink(), metrics_port=metrics_port).start()
    try:
        host, port = gateway.bootstrap.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=DEADLINE_SECONDS) as offender:
            # When a client sends a malformed frame (and the gateway closes it)
            offender.sendall(garbage)
            assert _closed_by_peer(offender)
        samples = _scrape(metrics_port)
    finally:
        gateway.stop()
    # Then exactly one error is counted, of kind "frame"
    errors = {name: value for name, value in samples.items() if "errors_total" in name}
    assert errors == {"chargeback_gateway_errors_total{kind=frame}": 1.0}


def test_a_connection_no_broker_can_serve_counts_as_an_upstream_error() -> None:
    # Given a gateway whose only broker address has nobody listening
    metrics_port = free_port()
    nobody = f"127.0.0.1:{free_port()}"
    gateway = GatewayThread(nobody, MemorySink(), metrics_port=metrics_port).start()
    try:
        host, port = gateway.bootstrap.rsplit(":", 1)
        # When a client connects (and the gateway, finding no broker, closes it)
        with socket.create_connection((host, int(port)), timeout=DEADLINE_SECONDS) as client:
            assert _closed_by_peer(client)
        samples = _scrape(metrics_port)
    finally:
        gateway.stop()
    # Then
    errors = {name: value for name, value in samples.items() if "errors_total" in name}
    assert errors == {"chargeback_gateway_errors_total{kind=upstream}": 1.0}
