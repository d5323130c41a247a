"""Walking stored record batches by their headers only."""

from __future__ import annotations

import struct

import pytest

from chargeback.demo._stored_batches import StoredBatch, walk_batches
from chargeback.demo.errors import DemoError


def _batch(base_offset: int, records: int, payload_bytes: int, *, control: bool = False) -> bytes:
    """A record batch v2 with a real header and `payload_bytes` of filler after it."""
    # batchLength counts everything after itself: epoch 4, magic 1, crc 4, attributes 2,
    # lastOffsetDelta 4, timestamps 16, producer id 8, epoch 2, base sequence 4, count 4 = 49
    batch_length = 49 + payload_bytes
    attributes = 0x20 if control else 0
    header = struct.pack(">qiibih", base_offset, batch_length, 0, 2, 0, attributes)
    rest = struct.pack(">iqqqhii", records - 1, 0, 0, -1, -1, -1, records)
    return header + rest + bytes(payload_bytes)


def test_walk_yields_each_batch_with_its_size_on_the_wire() -> None:
    # Given two batches back to back: 10 records at offset 0, 5 records at offset 10
    records = _batch(0, 10, 100) + _batch(10, 5, 7)

    # When they are walked
    batches = list(walk_batches(3, records))

    # Then each has its offsets and its full size (12 bytes of offset and length + batchLength)
    assert batches == [
        StoredBatch(partition=3, base_offset=0, last_offset=9, size_bytes=161, is_control=False),
        StoredBatch(partition=3, base_offset=10, last_offset=14, size_bytes=68, is_control=False),
    ]


def test_walk_leaves_out_a_batch_cut_at_the_end() -> None:
    # Given a whole batch followed by the first 40 bytes of another
    records = _batch(0, 1, 20) + _batch(1, 1, 20)[:40]

    # When they are walked
    batches = list(walk_batches(0, records))

    # Then only the whole batch is there
    assert [batch.base_offset for batch in batches] == [0]


def test_walk_marks_control_batches() -> None:
    # Given a transaction marker batch
    records = _batch(7, 1, 6, control=True)

    # When it is walked
    (batch,) = walk_batches(0, records)

    # Then it is a control batch
    assert batch.is_control


def test_walk_refuses_an_old_message_format_naming_partition_and_offset() -> None:
    # Given a batch whose magic byte says v1
    records = bytearray(_batch(42, 1, 10))
    records[16] = 1

    # When it is walked
    with pytest.raises(DemoError) as raised:
        list(walk_batches(5, bytes(records)))

    # Then the error names where
    assert "partition 5" in str(raised.value)
    assert "offset 42" in str(raised.value)
