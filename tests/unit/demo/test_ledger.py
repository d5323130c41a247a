"""The ledger: which stored batches each app sent or received."""

from __future__ import annotations

from array import array

import pytest

from chargeback.demo._apps import ConsumerRecord, ProducerRecord
from chargeback.demo._ledger import batches_by_partition, egress_bytes, ingress_bytes
from chargeback.demo._stored_batches import StoredBatch
from chargeback.demo.errors import DemoError

STORED = {
    "orders": [
        StoredBatch(partition=0, base_offset=3, last_offset=5, size_bytes=300, is_control=False),
        StoredBatch(partition=0, base_offset=0, last_offset=2, size_bytes=100, is_control=False),
        StoredBatch(partition=1, base_offset=0, last_offset=0, size_bytes=70, is_control=False),
        StoredBatch(partition=1, base_offset=1, last_offset=1, size_bytes=61, is_control=True),
        StoredBatch(partition=1, base_offset=2, last_offset=4, size_bytes=90, is_control=False),
    ]
}


def test_a_producer_pays_each_batch_holding_its_offsets_once() -> None:
    # Given a producer whose offsets 0, 1, 2 (one batch) and 4 (another) were acknowledged
    record = ProducerRecord(delivered_offsets={("orders", 0): array("q", [0, 1, 2, 4])})

    # When its ingress is settled
    settled = ingress_bytes(record, batches_by_partition(STORED))

    # Then both batches count once each
    assert settled == 100 + 300


def test_a_delivered_offset_in_no_stored_batch_is_an_error() -> None:
    # Given an acknowledged offset the broker does not hold
    record = ProducerRecord(delivered_offsets={("orders", 0): array("q", [9])})

    # When its ingress is settled
    with pytest.raises(DemoError) as raised:
        ingress_bytes(record, batches_by_partition(STORED))

    # Then the error names the offset and partition
    assert "offset 9 of orders/0" in str(raised.value)


def test_a_consumer_pays_whole_data_batches_below_its_next_offset() -> None:
    # Given a consumer that read partition 0 up to offset 4 and partition 1 to its end
    record = ConsumerRecord(next_offsets={("orders", 0): 4, ("orders", 1): 5})

    # When its egress is settled
    settled = egress_bytes(record, batches_by_partition(STORED))

    # Then the batch it started on counts whole, and the control batch not at all
    assert settled == (100 + 300) + (70 + 90)
