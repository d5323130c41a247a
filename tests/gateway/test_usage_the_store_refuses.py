"""Usage the store can never accept, metered by a real gateway from real clients: it is
quarantined, and every other account's usage is stored (nothing waits for a retry that
cannot succeed)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from chargeback.broker import EmbeddedBroker
from chargeback.store import Store, open_store
from chargeback.usage import MAX_BYTES, TopicName, UsageRecord
from tests.gateway.clients import produce
from tests.gateway.harness import GatewayThread
from tests.gateway.raw_kafka import stored_data_bytes

pytestmark = pytest.mark.broker


class DayFilledFirst:
    """The real store, into which the first write first puts a day that none of `account`'s
    records of that write fits in any more (under another topic), as an import could have."""

    def __init__(self, store: Store, account: str) -> None:
        self._store = store
        self._account = account
        self.filling: UsageRecord | None = None

    def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> bool:
        if self.filling is None:
            # The gateway's records of one produce share a window (or two, of one day).
            accounts = [r for r in records if r.service_account == self._account]
            smallest = min(r.bytes for r in accounts)
            self.filling = replace(
                accounts[0], topic=TopicName("imported"), bytes=MAX_BYTES - smallest + 1
            )
            self._store.write_usage("import", [self.filling])
        return self._store.write_usage(batch_id, records)


def _stored_rows(database: Path) -> set[tuple[str, str, str, int]]:
    """(service account, topic, direction, bytes), read from the database file itself."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT service_account, topic, direction, bytes FROM usage")
        return set(rows.fetchall())


def _flush_after_producing(
    broker: EmbeddedBroker, sink: object, productions: list[tuple[str, str]]
) -> tuple[bool, GatewayThread]:
    """Produce 30 records to each (topic, client.id) through a gateway, then flush it."""
    gateway = GatewayThread(broker.bootstrap, sink).start()
    try:
        for topic, client_id in productions:
            produce(gateway.bootstrap, topic, [b"x" * 100] * 30, **{"client.id": client_id})
        is_flushed = gateway.flush()
    finally:
        gateway.stop()
    return is_flushed, gateway


def test_an_account_whose_day_is_full_is_quarantined_and_others_are_stored(
    broker: EmbeddedBroker, topic: str, tmp_path: Path
) -> None:
    # Given a store in which 'poisoned' has no room left today
    database = tmp_path / "usage.db"
    store = open_store(f"sqlite:///{database}")
    sink = DayFilledFirst(store, "poisoned")
    innocent_topic = f"{topic}-innocent"

    # When both produce through the gateway, and it flushes
    try:
        is_flushed, gateway = _flush_after_producing(
            broker, sink, [(topic, "poisoned"), (innocent_topic, "innocent")]
        )
    finally:
        store.close()

    # Then 'innocent' is stored; 'poisoned''s new bytes are quarantined, none pending
    assert is_flushed
    assert sink.filling is not None
    assert _stored_rows(database) == {
        ("poisoned", "imported", "ingress", sink.filling.bytes),
        (
            "innocent",
            innocent_topic,
            "ingress",
            stored_data_bytes(broker.bootstrap, innocent_topic),
        ),
    }
    quarantined = gateway.metric_value("chargeback_gateway_quarantined_bytes_total")
    assert quarantined == stored_data_bytes(broker.bootstrap, topic)
    assert gateway.metric_value("chargeback_gateway_flush_failures_total") == 0


def test_a_client_id_with_a_right_to_left_override_is_quarantined_and_others_are_stored(
    broker: EmbeddedBroker, topic: str, tmp_path: Path
) -> None:
    # Given a client whose client.id "\u202eevil" would show as "live"
    database = tmp_path / "usage.db"
    store = open_store(f"sqlite:///{database}")
    evil_topic = f"{topic}-evil"

    # When it and another client produce through the gateway, and it flushes
    try:
        is_flushed, gateway = _flush_after_producing(
            broker, store, [(evil_topic, "\u202eevil"), (topic, "plain")]
        )
    finally:
        store.close()

    # Then
    assert is_flushed
    assert _stored_rows(database) == {
        ("plain", topic, "ingress", stored_data_bytes(broker.bootstrap, topic)),
    }
    quarantined = gateway.metric_value("chargeback_gateway_quarantined_bytes_total")
    assert quarantined == stored_data_bytes(broker.bootstrap, evil_topic)
