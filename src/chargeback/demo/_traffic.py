"""The demo's traffic: create the topics, run the apps through the gateway, and settle the ledger.

Stopping is ordered so that the ledger is exact: producers stop first (every message delivered
or failed), the broker's stored batches are read directly, consumers then read up to the end of
every topic, and only then do they close.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from chargeback.demo._apps import ConsumerApp, ProducerApp, TopicPartition
from chargeback.demo._cast import CONSUMERS, DEMO_CLUSTER, PRODUCERS, TOPICS, TopicPlan
from chargeback.demo._ledger import (
    AppLedger,
    Ledger,
    batches_by_partition,
    egress_bytes,
    ingress_bytes,
    utc_text,
    write_ledger,
)
from chargeback.demo._logins import SaslLogin
from chargeback.demo._stored_batches import StoredBatch, read_stored_batches
from chargeback.demo.errors import DemoError

_log = logging.getLogger("chargeback.demo")
_kafka_log = logging.getLogger("chargeback.demo.kafka")
Say = Callable[[str], None]
_ADMIN_TIMEOUT_SECONDS = 20.0
_DRAIN_TIMEOUT_SECONDS = 60.0
_JOIN_TIMEOUT_SECONDS = 60.0


def create_topics(broker_bootstrap: str, topics: Sequence[TopicPlan] = TOPICS) -> None:
    """Create the demo's topics directly on the broker (not through the gateway).

    Raises:
        DemoError: the broker refused a topic.
    """
    config: dict[str, Any] = {"bootstrap.servers": broker_bootstrap, "logger": _kafka_log}
    admin = AdminClient(config)
    futures = admin.create_topics([NewTopic(t.name, t.partitions) for t in topics])
    for name, future in futures.items():
        try:
            future.result(_ADMIN_TIMEOUT_SECONDS)
        except Exception as error:
            raise DemoError(f"the broker did not create topic {name!r}: {error}") from error


class Traffic:
    """The demo's client applications, started together and stopped in ledger order."""

    def __init__(
        self, gateway_bootstrap: str, broker_bootstrap: str, logins: Mapping[str, SaslLogin]
    ) -> None:
        self.gateway_bootstrap = gateway_bootstrap
        self._broker_bootstrap = broker_bootstrap
        self.producers = [
            ProducerApp(plan, gateway_bootstrap, logins[plan.service_account], seed=index)
            for index, plan in enumerate(PRODUCERS)
        ]
        self.consumers = [
            ConsumerApp(plan, gateway_bootstrap, logins[plan.service_account]) for plan in CONSUMERS
        ]
        self.started_at_utc = datetime.now(UTC)
        self.is_running = False

    def start(self) -> None:
        """Start every app (consumers first, so that they join their groups meanwhile)."""
        self.started_at_utc = datetime.now(UTC)
        for app in [*self.consumers, *self.producers]:
            app.start()
        self.is_running = True

    def stop(self, data_dir: Path, say: Say) -> Path:
        """Stop every app, settle what each sent and received, and write the ledger file.

        `say` hears each step, since draining a lagging consumer can take a while.

        Raises:
            DemoError: the broker's batches could not be read or an offset is missing.
        """
        self.is_running = False
        say("  producers: sending what they have queued ...")
        for producer in self.producers:
            producer.stop()
        _join_all(self.producers)
        try:
            say("  reading the batches the broker stored, directly from the broker ...")
            stored = self._read_stored()
            self._drain_consumers(stored, say)
        finally:
            for consumer in self.consumers:
                consumer.stop()
            _join_all(self.consumers)
        return write_ledger(self._ledger(stored), data_dir)

    def _read_stored(self) -> dict[str, list[StoredBatch]]:
        return {
            topic.name: read_stored_batches(
                self._broker_bootstrap, topic.name, range(topic.partitions)
            )
            for topic in TOPICS
        }

    def _drain_consumers(self, stored: dict[str, list[StoredBatch]], say: Say) -> None:
        end_offsets: dict[TopicPartition, int] = {
            key: batches[-1].last_offset + 1
            for key, batches in batches_by_partition(stored).items()
        }
        behind = {c.service_account: c.messages_behind(end_offsets) for c in self.consumers}
        lagging = ", ".join(f"{name} {count:,}" for name, count in behind.items() if count)
        say(
            "  consumers: reading up to the end of every partition"
            + (f" (messages behind: {lagging})" if lagging else "")
            + " ..."
        )
        for consumer in self.consumers:
            if consumer.is_alive() and not consumer.drain(end_offsets, _DRAIN_TIMEOUT_SECONDS):
                _log.warning("event=demo_consumer_not_drained app=%s", consumer.service_account)

    def _ledger(self, stored: dict[str, list[StoredBatch]]) -> Ledger:
        batches = batches_by_partition(stored)
        apps = [
            AppLedger(
                service_account=p.service_account,
                ingress_bytes=ingress_bytes(p.record, batches),
                egress_bytes=0,
                messages_produced=p.record.messages_delivered,
                messages_consumed=0,
                messages_failed=p.record.messages_failed,
                is_drained=True,
                value_bytes_produced=p.record.value_bytes_sent,
            )
            for p in self.producers
        ] + [
            AppLedger(
                service_account=c.service_account,
                ingress_bytes=0,
                egress_bytes=egress_bytes(c.record, batches),
                messages_produced=0,
                messages_consumed=c.record.messages_consumed,
                messages_failed=0,
                is_drained=c.record.is_drained,
            )
            for c in self.consumers
        ]
        return Ledger(
            cluster=DEMO_CLUSTER,
            started_at_utc=utc_text(self.started_at_utc),
            finished_at_utc=utc_text(datetime.now(UTC)),
            apps=tuple(apps),
            stored_bytes_by_topic={t: sum(b.size_bytes for b in v) for t, v in stored.items()},
            stored_batches_by_topic={t: len(v) for t, v in stored.items()},
        )


def _join_all(apps: Sequence[ProducerApp] | Sequence[ConsumerApp]) -> None:
    for app in apps:
        app.join(_JOIN_TIMEOUT_SECONDS)
        if app.is_alive():
            _log.error("event=demo_app_did_not_stop app=%s", app.service_account)
