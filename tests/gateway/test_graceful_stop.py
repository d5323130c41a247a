"""`chargeback gateway` as a process at SIGTERM: requests in flight are answered and charged,
and a store that hangs cannot keep the process alive."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from confluent_kafka import Producer

from chargeback.broker import EmbeddedBroker, free_port
from chargeback.store import open_store
from chargeback.usage import Direction
from tests.conftest import postgres_schema_url
from tests.gateway.clients import DEADLINE_SECONDS, create_topic, produce, wait_for
from tests.gateway.harness import (
    chargeback_command,
    free_port_block,
    wait_until_serving,
)
from tests.gateway.raw_kafka import RawKafka, produce_frame, record_batch, stored_data_bytes

pytestmark = pytest.mark.broker

CLUSTER = "stop-test"


class GatewayProcess:
    """A `chargeback gateway` process (client-id principal, flushing only when it stops)."""

    def __init__(self, broker: EmbeddedBroker, db_url: str) -> None:
        self.listen_port, self.metrics_port = free_port_block(), free_port()
        command = [chargeback_command(), "--db", db_url, "gateway"]
        command += ["--bootstrap-server", broker.bootstrap, "--cluster", CLUSTER]
        command += ["--listen", f"127.0.0.1:{self.listen_port}", "--principal", "client-id"]
        command += ["--flush-interval", "3600", "--metrics-port", str(self.metrics_port)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until_serving(self.metrics_port, self.process)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.listen_port}"

    def stop(self) -> str:
        """SIGTERM, then wait (up to the safety deadline) for the exit; return stderr."""
        self.process.send_signal(signal.SIGTERM)
        _, stderr = self.process.communicate(timeout=DEADLINE_SECONDS)
        return stderr.decode()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def _ingress_in_store(db_url: str) -> int:
    store = open_store(db_url)
    try:
        today = datetime.now(UTC).date()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the store's own business
            totals = store.daily_usage("UTC", today - timedelta(days=1), today, CLUSTER)
    finally:
        store.close()
    return sum(t.bytes for t in totals if t.direction == Direction.INGRESS)


class LoadedProducers:
    """librdkafka producers and a pipelining raw client, producing through the gateway until
    told to stop (what they send after the gateway stopped reading is simply not accepted)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap, self._topic = bootstrap, topic
        self._stopping = threading.Event()
        self.delivered = 0
        self.raw_answers = 0
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._librdkafka, args=(f"loaded-{n}",)) for n in range(3)
        ]
        self._threads.append(threading.Thread(target=self._pipelining))

    def __enter__(self) -> LoadedProducers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join()

    def _librdkafka(self, client_id: str) -> None:
        producer = Producer(
            {
                "bootstrap.servers": self._bootstrap,
                "client.id": client_id,
                "linger.ms": 2,
                "enable.idempotence": False,
                "message.timeout.ms": 5000,
            }
        )
        while not self._stopping.is_set():
            try:
                producer.produce(self._topic, os.urandom(500), on_delivery=self._count)
            except BufferError:
                producer.poll(0.05)
            producer.poll(0)
        producer.flush(DEADLINE_SECONDS)

    def _count(self, error: Any, _message: Any) -> None:
        if error is None:
            with self._lock:
                self.delivered += 1

    def _pipelining(self) -> None:
        """Bursts of 20 Produce requests of 40 KB, sent before any answer is read."""
        correlation_id = 0
        try:
            with RawKafka(self._bootstrap) as client:
                while not self._stopping.is_set():
                    for _ in range(20):
                        correlation_id += 1
                        batch = record_batch([os.urandom(40_000)])
                        client.send_raw(produce_frame(correlation_id, [(self._topic, 0, batch)]))
                    for _ in range(20):
                        client.receive_raw()
                        with self._lock:
                            self.raw_answers += 1
        except OSError:
            return  # the gateway stopped: it closed the connection


def test_a_sigterm_under_load_charges_exactly_the_batches_the_broker_stored(
    broker: EmbeddedBroker, tmp_path: Path, topic: str
) -> None:
    # Given: producers busy through the gateway
    db_url = f"sqlite:///{tmp_path / 'usage.db'}"
    create_topic(broker.bootstrap, topic, partitions=3)
    gateway = GatewayProcess(broker, db_url)
    try:
        with LoadedProducers(gateway.bootstrap, topic) as load:
            wait_for(
                lambda: load.delivered >= 2000 and load.raw_answers >= 100,
                "records to flow through the gateway",
            )
            # When
            stderr = gateway.stop()
    finally:
        gateway.kill()
    # Then: every batch the broker stored (it was sent only through the gateway) is charged,
    # including those in flight at the signal; those sent later reached no broker
    assert gateway.process.returncode == 0, stderr
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert stored > 0
    assert _ingress_in_store(db_url) == stored
    assert "event=gateway_draining" in stderr


@pytest.fixture
def schema_url(postgres_url: str) -> Iterator[str]:
    """A URL of a new PostgreSQL schema of its own (dropped afterwards)."""
    with postgres_schema_url(postgres_url, "gw_stop") as url:
        yield url


@pytest.mark.postgres
def test_a_sigterm_while_the_store_is_locked_ends_the_gateway_and_names_what_was_not_written(
    broker: EmbeddedBroker, schema_url: str, topic: str
) -> None:
    # Given: usage counted by the gateway, and the table its writes start with locked by
    # another session (as in a long maintenance transaction)
    gateway = GatewayProcess(broker, schema_url)
    locker = sa.create_engine(schema_url)
    try:
        produce(gateway.bootstrap, topic, [b"x" * 700] * 60, **{"client.id": "locked-out"})
        expected_bytes = stored_data_bytes(broker.bootstrap, topic)
        with locker.connect() as session, session.begin():
            session.exec_driver_sql("LOCK TABLE usage_batches IN ACCESS EXCLUSIVE MODE")
            # When: the gateway is stopped while the lock is held (its exit is awaited here,
            # before the lock is released)
            stderr = gateway.stop()
    finally:
        gateway.kill()
        locker.dispose()
    # Then: it exited with status 1 and named every byte it could not write; none was stored
    assert gateway.process.returncode == 1, stderr
    lost = re.search(r"event=usage_not_flushed .*pending_bytes=(\d+) unbatched_bytes=(\d+)", stderr)
    assert lost is not None, stderr
    assert int(lost.group(1)) + int(lost.group(2)) == expected_bytes
    assert "lock timeout" in stderr
    assert _ingress_in_store(schema_url) == 0
