"""A minimal blocking Kafka client built on kio, for expectations taken DIRECTLY from the broker.

Expected bytes come from what the broker stored, read here with kio's own decoder and a
record-batch walker written for the tests, so they never depend on the gateway's parsing.
"""

from __future__ import annotations

import datetime
import io
import socket
import struct
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kio.schema.fetch.v12.request import FetchPartition, FetchRequest, FetchTopic
from kio.schema.fetch.v12.response import FetchResponse
from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic
from kio.schema.metadata.v12.response import MetadataResponse
from kio.schema.produce.v9.request import PartitionProduceData, ProduceRequest, TopicProduceData
from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import Records, i16, i32, i32Timedelta, i64

CLIENT_ID = "raw-test-client"


@dataclass(frozen=True)
class StoredBatch:
    """One batch the broker stored: its offset range, size on the wire, control flag."""

    base_offset: int
    next_offset: int
    size_bytes: int
    is_control: bool


class RawKafka:
    """One blocking connection speaking kio-encoded requests."""

    def __init__(
        self,
        bootstrap: str,
        timeout_seconds: float = 20.0,
        *,
        receive_buffer_bytes: int | None = None,
    ) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self._socket = socket.socket()
        if receive_buffer_bytes is not None:
            # Set before connecting: a fixed buffer turns off the kernel's autotuning, so a
            # client that does not read holds the sender back after this many bytes.
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
        self._socket.settimeout(timeout_seconds)
        self._socket.connect((host, int(port)))
        self._correlation_id = 0

    @property
    def local_port(self) -> int:
        """The client side's port, to tell this connection apart in `ss` listings."""
        port: int = self._socket.getsockname()[1]
        return port

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> RawKafka:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def send_raw(self, payload: bytes) -> None:
        self._socket.sendall(struct.pack(">i", len(payload)) + payload)

    def receive_raw(self) -> bytes:
        (size,) = struct.unpack(">i", self.receive_exactly(4))
        return self.receive_exactly(size)

    def receive_exactly(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self._socket.recv(size - len(chunks))
            if not chunk:
                raise ConnectionError("connection closed")
            chunks += chunk
        return bytes(chunks)

    def send(self, message: Any) -> None:
        """Send a request without awaiting anything."""
        self._correlation_id += 1
        self.send_raw(request_payload(message, self._correlation_id))

    def request(self, message: Any) -> Any:
        self.send(message)
        response = self.receive_raw()
        # Response header v1: correlation id + empty tagged fields (one zero byte).
        assert struct.unpack_from(">i", response)[0] == self._correlation_id
        response_type = MetadataResponse if isinstance(message, MetadataRequest) else FetchResponse
        value, _ = entity_reader(response_type)(response, 5)
        return value

    def partitions(self, topic: str) -> list[int]:
        return sorted(p.partition_index for p in self._metadata(topic).partitions)

    def topic_id(self, topic: str) -> uuid.UUID:
        """The id the broker gave `topic` (Metadata v12 names both)."""
        topic_id: uuid.UUID = self._metadata(topic).topic_id
        return topic_id

    def _metadata(self, topic: str) -> Any:
        request = MetadataRequest(
            topics=(MetadataRequestTopic(topic_id=None, name=topic),),
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )
        (found,) = self.request(request).topics
        return found

    def stored_batches(self, topic: str) -> list[StoredBatch]:
        """Every batch of every partition of `topic`, fetched from offset 0 to the end."""
        return [b for batches in self.batches_by_partition(topic).values() for b in batches]

    def batches_by_partition(self, topic: str) -> dict[int, list[StoredBatch]]:
        """Partition -> every batch the broker stored there, in offset order."""
        return {p: self._partition_batches(topic, p) for p in self.partitions(topic)}

    def _partition_batches(self, topic: str, partition: int) -> list[StoredBatch]:
        batches: list[StoredBatch] = []
        offset = 0
        while True:
            data, high_watermark = self.fetch_records(topic, partition, offset)
            found = walk_batches(data)
            batches += found
            if found:
                offset = found[-1].next_offset
            if offset >= high_watermark or not found:
                return batches

    def fetch_records(self, topic: str, partition: int, offset: int) -> tuple[bytes, int]:
        """Fetch v12 from `offset`: the partition's record set and its high watermark."""
        request = fetch_request(topic, partition, offset)
        response = self.request(request)
        data = response.responses[0].partitions[0]
        return bytes(data.records or b""), int(data.high_watermark)


def request_payload(message: Any, correlation_id: int, client_id: str = CLIENT_ID) -> bytes:
    """`message` as a request frame's payload (request header v2 if its version is flexible,
    else v1)."""
    out = io.BytesIO()
    header_type: Any = RequestHeader if message.__flexible__ else RequestHeaderV1
    header = header_type(
        request_api_key=i16(message.__api_key__),
        request_api_version=i16(message.__version__),
        correlation_id=i32(correlation_id),
        client_id=client_id,
    )
    entity_writer(header_type)(out, header)
    entity_writer(type(message))(out, message)
    return out.getvalue()


def fetch_request(topic: str, partition: int, offset: int) -> FetchRequest:
    """A Fetch v12 request for one partition from `offset`, up to 64 MiB."""
    return FetchRequest(
        # Tansu answers nothing at all to max_wait 0, so wait a little.
        max_wait=i32Timedelta.parse(datetime.timedelta(milliseconds=200)),
        min_bytes=i32(1),
        topics=(
            FetchTopic(
                topic=topic,
                partitions=(
                    FetchPartition(
                        partition=i32(partition),
                        fetch_offset=i64(offset),
                        partition_max_bytes=i32(64 * 1024 * 1024),
                    ),
                ),
            ),
        ),
        forgotten_topics_data=(),
    )


def walk_batches(data: bytes) -> list[StoredBatch]:
    """Split a v2 record set into batches (test-side code, independent of the gateway's)."""
    batches = []
    position = 0
    while position + 61 <= len(data):
        base_offset, batch_length = struct.unpack_from(">qi", data, position)
        size = 12 + batch_length
        if position + size > len(data):
            break
        attributes, last_offset_delta = struct.unpack_from(">hi", data, position + 21)
        is_control = bool(attributes & 0b10_0000)
        batches.append(
            StoredBatch(base_offset, base_offset + last_offset_delta + 1, size, is_control)
        )
        position += size
    return batches


def stored_data_bytes(bootstrap: str, topic: str) -> int:
    """The size of every non-control batch the broker stored for `topic`."""
    with RawKafka(bootstrap) as kafka:
        return sum(b.size_bytes for b in kafka.stored_batches(topic) if not b.is_control)


def record_batch(values: list[bytes]) -> bytes:
    """A v2 record batch of `values`, encoded by kafka-python (independent of the gateway)."""
    with warnings.catch_warnings():
        # kafka-python 3.0.12 loads its schemas with a deprecated importlib.resources call.
        warnings.simplefilter("ignore", DeprecationWarning)
        from kafka.record.default_records import DefaultRecordBatchBuilder

    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=False,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 30,
    )
    for offset, value in enumerate(values):
        builder.append(offset, timestamp=None, key=None, value=value, headers=[])
    return bytes(builder.build())


def bytes_of_batches_holding(bootstrap: str, topic: str, offsets: Iterable[tuple[int, int]]) -> int:
    """The size of the stored batches of `topic` that hold any of `offsets`, each batch once.

    `offsets` are (partition, offset) pairs a client saw: offsets a producer's delivery reports
    named, or offsets of records a consumer received.
    """
    with RawKafka(bootstrap) as kafka:
        batches = kafka.batches_by_partition(topic)
    holding: dict[tuple[int, int], int] = {}
    for partition, offset in offsets:
        batch = next(
            (b for b in batches.get(partition, ()) if b.base_offset <= offset < b.next_offset),
            None,
        )
        assert batch is not None, f"offset {offset} of partition {partition} is in no batch"
        holding[(partition, batch.base_offset)] = batch.size_bytes
    return sum(holding.values())


def produce_frame(
    correlation_id: int,
    data: list[tuple[str, int, bytes]],
    acks: int = -1,
    client_id: str = CLIENT_ID,
) -> bytes:
    """A Produce v9 request's payload: one record batch per (topic, partition, batch), in that
    order (a partition may come twice)."""
    topics: dict[str, list[Any]] = {}
    for topic, partition, batch in data:
        topics.setdefault(topic, []).append(
            PartitionProduceData(index=i32(partition), records=Records(batch))
        )
    message = ProduceRequest(
        transactional_id=None,
        acks=i16(acks),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=5)),
        topic_data=tuple(
            TopicProduceData(name=name, partition_data=tuple(partitions))
            for name, partitions in topics.items()
        ),
    )
    return request_payload(message, correlation_id, client_id)
