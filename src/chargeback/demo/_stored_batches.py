"""Read what the broker really stored: every record batch of a topic, with its size on the wire.

The demo's ledger needs an expected ingress and egress that does not depend on the gateway's own
counting. Tansu stores record batches byte for byte, so a raw Fetch sent straight to the broker
(not through the gateway) returns exactly the batches the producers sent. This module walks only
the fixed batch headers; it never decompresses records. It is deliberately separate from the
gateway's batch-header code, so that the two can check each other.
"""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from kio.schema.fetch.v4.request import FetchPartition, FetchRequest, FetchTopic
from kio.schema.fetch.v4.response import FetchResponse, PartitionData
from kio.schema.request_header.v1.header import RequestHeader
from kio.schema.response_header.v0.header import ResponseHeader
from kio.schema.types import TopicName
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32, i32Timedelta, i64

from chargeback.demo.errors import DemoError

_FETCH_API_KEY = 1
_FETCH_VERSION = 4  # names topics by name and reports the high watermark; Tansu supports it
# Record batch v2 header: baseOffset int64, batchLength int32, partitionLeaderEpoch int32,
# magic int8, crc int32, attributes int16, lastOffsetDelta int32 (KIP-98 layout).
_LOG_OVERHEAD_BYTES = 12  # baseOffset + batchLength: the part batchLength does not count
_HEADER_BYTES = 27
_ATTRIBUTES_AT = 21
_LAST_OFFSET_DELTA_AT = 23
_CONTROL_BIT = 0x20
# Tansu answers an immediate Fetch with nothing even when data exists, so wait a little.
_MAX_WAIT = i32Timedelta.parse(timedelta(milliseconds=500))
_PARTITION_MAX_BYTES = 64 * 1024 * 1024
_SOCKET_TIMEOUT_SECONDS = 10.0
_EMPTY_ANSWERS_ALLOWED = 5


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """One record batch as stored by the broker: its offsets and its size on the wire."""

    partition: int
    base_offset: int
    last_offset: int
    size_bytes: int
    is_control: bool


def walk_batches(partition: int, records: bytes) -> Iterator[StoredBatch]:
    """Yield the complete record batches in `records`; a cut batch at the end is left out.

    Raises:
        DemoError: a batch header is not a v2 (magic 2) header.

    >>> header = struct.pack(">qiibih", 5, 15 + 20, 0, 2, 0, 0) + struct.pack(">i", 1)
    >>> [b.size_bytes for b in walk_batches(0, header + bytes(20))]
    [47]
    """
    position = 0
    while len(records) - position >= _HEADER_BYTES:
        base_offset, batch_length = struct.unpack_from(">qi", records, position)
        size_bytes = _LOG_OVERHEAD_BYTES + batch_length
        if position + size_bytes > len(records):
            return
        magic = records[position + 16]
        if magic != 2:
            raise DemoError(
                f"partition {partition}: record batch at offset {base_offset} "
                f"has magic {magic}, expected 2"
            )
        (attributes,) = struct.unpack_from(">h", records, position + _ATTRIBUTES_AT)
        (last_delta,) = struct.unpack_from(">i", records, position + _LAST_OFFSET_DELTA_AT)
        yield StoredBatch(
            partition=partition,
            base_offset=base_offset,
            last_offset=base_offset + last_delta,
            size_bytes=size_bytes,
            is_control=bool(attributes & _CONTROL_BIT),
        )
        position += size_bytes


class _RawConnection:
    """One plain Kafka connection straight to the broker, one request at a time."""

    def __init__(self, bootstrap: str) -> None:
        host, _, port = bootstrap.rpartition(":")
        try:
            self._socket = socket.create_connection((host, int(port)), _SOCKET_TIMEOUT_SECONDS)
        except OSError as error:
            raise DemoError(f"cannot connect to the broker at {bootstrap}: {error}") from error
        self._correlation_id = 0

    def fetch(self, topic: str, partition: int, offset: int) -> PartitionData:
        """Send one Fetch v4 for one partition from `offset` and return that partition's data."""
        self._correlation_id += 1
        request = FetchRequest(
            max_wait=_MAX_WAIT,
            min_bytes=i32(1),
            topics=(
                FetchTopic(
                    topic=TopicName(topic),
                    partitions=(
                        FetchPartition(
                            partition=i32(partition),
                            fetch_offset=i64(offset),
                            partition_max_bytes=i32(_PARTITION_MAX_BYTES),
                        ),
                    ),
                ),
            ),
        )
        body = self._round_trip(request)
        response, _ = entity_reader(FetchResponse)(body, self._header_size(body))
        return response.responses[0].partitions[0]

    def _round_trip(self, request: FetchRequest) -> bytes:
        frame = io.BytesIO()
        header = RequestHeader(
            request_api_key=i16(_FETCH_API_KEY),
            request_api_version=i16(_FETCH_VERSION),
            correlation_id=i32(self._correlation_id),
            client_id="chargeback-demo-ledger",
        )
        entity_writer(RequestHeader)(frame, header)
        entity_writer(FetchRequest)(frame, request)
        payload = frame.getvalue()
        self._socket.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", self._receive(4))
        return self._receive(size)

    def _header_size(self, body: bytes) -> int:
        header, size = entity_reader(ResponseHeader)(body, 0)
        if header.correlation_id != self._correlation_id:
            raise DemoError(
                f"broker answered correlation id {header.correlation_id}, "
                f"expected {self._correlation_id}"
            )
        return size

    def _receive(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self._socket.recv(size - len(chunks))
            if not chunk:
                raise DemoError("the broker closed the ledger's connection mid-response")
            chunks += chunk
        return bytes(chunks)

    def close(self) -> None:
        self._socket.close()


def read_stored_batches(bootstrap: str, topic: str, partitions: Sequence[int]) -> list[StoredBatch]:
    """Read every batch stored in `partitions` of `topic`, from offset 0 to the high watermark.

    Raises:
        DemoError: the broker is unreachable or answers a partition with an error.
    """
    connection = _RawConnection(bootstrap)
    try:
        return [
            batch
            for partition in partitions
            for batch in _read_partition(connection, topic, partition)
        ]
    finally:
        connection.close()


def _read_partition(connection: _RawConnection, topic: str, partition: int) -> list[StoredBatch]:
    batches: list[StoredBatch] = []
    offset = 0
    empty_answers = 0
    while True:
        data = connection.fetch(topic, partition, offset)
        if data.error_code.value != 0:
            raise DemoError(
                f"topic {topic} partition {partition}: broker error "
                f"{data.error_code.name} reading offset {offset}"
            )
        found = list(walk_batches(partition, data.records or b""))
        batches.extend(found)
        offset = found[-1].last_offset + 1 if found else offset
        if offset >= data.high_watermark:
            return batches
        empty_answers = 0 if found else empty_answers + 1
        if empty_answers > _EMPTY_ANSWERS_ALLOWED:
            raise DemoError(
                f"topic {topic} partition {partition}: the broker returned no batch at offset "
                f"{offset} below its high watermark {data.high_watermark}"
            )
