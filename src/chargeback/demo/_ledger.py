"""The traffic ledger: what each demo app really sent and received, independent of the gateway.

Ingress of a producer is the size of every stored batch that holds an offset the broker
acknowledged to it (spec section 1: accepted batches, at their size as stored, compressed or
not). Egress of a consumer is the size of every stored, non-control batch it read from: a
consumer that has read a record has been delivered that record's whole batch. That is exact only
once the consumer has read everything (it may have prefetched more than it read), so the ledger
records whether each consumer drained the topics to their end.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from chargeback.demo._apps import ConsumerRecord, ProducerRecord, TopicPartition
from chargeback.demo._stored_batches import StoredBatch
from chargeback.demo.errors import DemoError

LEDGER_FILE_NAME = "demo-ledger.json"


@dataclass(frozen=True, slots=True)
class AppLedger:
    """One app's traffic as the broker stored it."""

    service_account: str
    ingress_bytes: int
    egress_bytes: int
    messages_produced: int
    messages_consumed: int
    messages_failed: int
    is_drained: bool
    value_bytes_produced: int = 0  # the record values before batching and compression


@dataclass(frozen=True, slots=True)
class Ledger:
    """The whole run: every app, and the stored batches per topic it was computed from."""

    cluster: str
    started_at_utc: str
    finished_at_utc: str
    apps: tuple[AppLedger, ...]
    stored_bytes_by_topic: Mapping[str, int]
    stored_batches_by_topic: Mapping[str, int]


def batches_by_partition(
    stored: Mapping[str, Sequence[StoredBatch]],
) -> dict[TopicPartition, list[StoredBatch]]:
    """Group stored batches by (topic, partition), in offset order."""
    grouped: dict[TopicPartition, list[StoredBatch]] = {}
    for topic, batches in stored.items():
        for batch in batches:
            grouped.setdefault((topic, batch.partition), []).append(batch)
    for batches in grouped.values():
        batches.sort(key=lambda batch: batch.base_offset)
    return grouped


def ingress_bytes(
    record: ProducerRecord, batches: Mapping[TopicPartition, Sequence[StoredBatch]]
) -> int:
    """Sum the sizes of the stored batches that hold an offset delivered to this producer.

    Raises:
        DemoError: a delivered offset is in no stored batch (the broker lost it).
    """
    claimed: set[tuple[TopicPartition, int]] = set()
    for key, offsets in record.delivered_offsets.items():
        partition_batches = batches.get(key, [])
        starts = [batch.base_offset for batch in partition_batches]
        for offset in offsets:
            index = bisect.bisect_right(starts, offset) - 1
            if index < 0 or partition_batches[index].last_offset < offset:
                raise DemoError(f"offset {offset} of {key[0]}/{key[1]} is in no stored batch")
            claimed.add((key, index))
    return sum(batches[key][index].size_bytes for key, index in claimed)


def egress_bytes(
    record: ConsumerRecord, batches: Mapping[TopicPartition, Sequence[StoredBatch]]
) -> int:
    """Sum the sizes of the stored data batches below each partition's next unread offset."""
    return sum(
        batch.size_bytes
        for key, next_offset in record.next_offsets.items()
        for batch in batches.get(key, [])
        if batch.base_offset < next_offset and not batch.is_control
    )


def write_ledger(ledger: Ledger, data_dir: Path) -> Path:
    """Write `ledger` as JSON into `data_dir` (atomically) and return the file's path."""
    path = data_dir / LEDGER_FILE_NAME
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(ledger), indent=2, sort_keys=True) + "\n")
    temporary.replace(path)
    return path


def utc_text(instant: datetime) -> str:
    """Format an aware instant as ISO 8601 in UTC with a `Z`."""
    return instant.isoformat(timespec="seconds").replace("+00:00", "Z")
