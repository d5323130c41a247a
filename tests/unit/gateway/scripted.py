"""A scripted broker and a gateway in front of it, for what Tansu cannot show.

The broker answers each request frame with `script(frame)` (None: no answer). With `hold`, it
writes no answer until the test sets that event (the answers keep their order), so a test can
decide what the gateway has seen before an answer arrives.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

from kio.schema.errors import ErrorCode
from kio.schema.produce.v9.request import PartitionProduceData, ProduceRequest, TopicProduceData
from kio.schema.produce.v9.response import (
    PartitionProduceResponse,
    ProduceResponse,
    TopicProduceResponse,
)
from kio.serial import entity_reader
from kio.static.primitive import Records, i16, i32

from chargeback.broker import free_port
from chargeback.gateway import Endpoint, Gateway, GatewaySettings, PrincipalMode
from chargeback.gateway.wire import parse_request_header
from tests.gateway.clients import DEADLINE_SECONDS
from tests.gateway.harness import MemorySink
from tests.unit.gateway.framing import batch, build, encode, request_frame

Script = Callable[[bytes], bytes | None]


class ScriptedBroker:
    """Answers each request frame with `script(frame)` (None: no answer), remembering frames."""

    def __init__(self, script: Script, *, hold: asyncio.Event | None = None) -> None:
        self.script = script
        self.hold = hold
        self.received: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answers: asyncio.Queue[bytes] = asyncio.Queue()
        answering = asyncio.create_task(self._answer(answers, writer))
        try:
            while True:
                (size,) = struct.unpack(">i", await reader.readexactly(4))
                frame = await reader.readexactly(size)
                self.received.append(frame)
                answer = self.script(frame)
                if answer is not None:
                    answers.put_nowait(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            answering.cancel()
            writer.close()

    async def _answer(self, answers: asyncio.Queue[bytes], writer: asyncio.StreamWriter) -> None:
        """Write the answers in order (each once `hold`, if any, is set)."""
        while True:
            answer = await answers.get()
            if self.hold is not None:
                await self.hold.wait()
            writer.write(struct.pack(">i", len(answer)) + answer)
            await writer.drain()


async def start_gateway(broker: ScriptedBroker, sink: MemorySink, **overrides: Any) -> Gateway:
    """A started gateway (client-id principal) in front of `broker`."""
    settings = GatewaySettings(
        bootstrap_servers=(Endpoint("127.0.0.1", broker.port),),
        listen=Endpoint("127.0.0.1", free_port()),
        principal_mode=PrincipalMode.CLIENT_ID,
        flush_interval_seconds=3600,
        **overrides,
    )
    gateway = Gateway(settings, sink)
    await gateway.start()
    return gateway


async def exchange(gateway: Gateway, frames: list[bytes], answers: int) -> list[bytes]:
    """Send `frames`, then read `answers` frames (a safety deadline fails a stalled gateway)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    for frame in frames:
        writer.write(struct.pack(">i", len(frame)) + frame)
    await writer.drain()
    received = []
    async with asyncio.timeout(DEADLINE_SECONDS):
        for _ in range(answers):
            (size,) = struct.unpack(">i", await reader.readexactly(4))
            received.append(await reader.readexactly(size))
    writer.close()
    await writer.wait_closed()
    return received


def frames(*payloads: bytes) -> bytes:
    """`payloads` as size-prefixed frames, to be written at once."""
    return b"".join(struct.pack(">i", len(p)) + p for p in payloads)


async def read_until_closed(reader: asyncio.StreamReader) -> list[bytes]:
    """Read frames until the gateway closes the connection (a safety deadline applies)."""
    frames = []
    async with asyncio.timeout(DEADLINE_SECONDS):
        while prefix := await reader.read(4):
            (size,) = struct.unpack(">i", prefix + await reader.readexactly(4 - len(prefix)))
            frames.append(await reader.readexactly(size))
    return frames


async def until(condition: Callable[[], object], what: str) -> None:
    """Wait on the event loop until `condition()` holds (a safety deadline applies)."""
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def kafka_like(frame: bytes) -> bytes | None:
    """Apache Kafka's way: no answer to a Produce with acks=0; every partition of a Produce
    (v9) accepted; any other request answered with its correlation id and b"answer"."""
    header = parse_request_header(frame)
    if header.api_key != 0:
        return struct.pack(">i", header.correlation_id) + b"answer"
    assert header.api_version == 9
    assert header.body_offset is not None
    request, _ = entity_reader(ProduceRequest)(frame, header.body_offset)
    if request.acks == 0:
        return None
    topics = tuple(
        build(
            TopicProduceResponse,
            name=topic.name,
            partition_responses=tuple(
                build(PartitionProduceResponse, index=i32(p.index), error_code=ErrorCode.none)
                for p in topic.partition_data
            ),
        )
        for topic in request.topic_data
    )
    # Response header v1: the correlation id, then no tagged fields.
    head = struct.pack(">i", header.correlation_id) + b"\x00"
    return head + encode(build(ProduceResponse, responses=topics))


def metric(gateway: Gateway, name: str, **labels: str) -> float:
    """The current value of one of `gateway`'s metrics (0 when it has no sample yet)."""
    value = gateway.metrics.registry.get_sample_value(f"chargeback_gateway_{name}", labels)
    return value or 0.0


def produce_frame(
    correlation_id: int, *, acks: int = 1, partitions: tuple[tuple[int, int], ...] = ((0, 30),)
) -> bytes:
    """A Produce v9 request (client id "unit-test") to topic "t": one batch of the given size
    per (partition, size), in that order (a partition may come twice)."""
    data = tuple(
        build(PartitionProduceData, index=i32(index), records=Records(batch(size)))
        for index, size in partitions
    )
    message = build(
        ProduceRequest,
        acks=i16(acks),
        topic_data=(build(TopicProduceData, name="t", partition_data=data),),
    )
    return request_frame(message, correlation_id).raw


def heartbeat_frame(correlation_id: int) -> bytes:
    """A request the gateway forwards without reading its body (Heartbeat v0, same client id
    as `produce_frame`'s)."""
    return struct.pack(">hhih", 12, 0, correlation_id, 9) + b"unit-test" + b"heartbeat-body"


def fetch_frame(correlation_id: int) -> bytes:
    """A Fetch v12 request, as far as the gateway reads it (header; the body is not read)."""
    return struct.pack(">hhih", 1, 12, correlation_id, 9) + b"unit-test" + b"\x00" * 40


def fetch_answer(correlation_id: int, record_bytes: int) -> bytes:
    """A Fetch v12 response carrying one batch of `record_bytes` of topic "big"."""
    from kio.schema.fetch.v12.response import FetchableTopicResponse, FetchResponse, PartitionData

    partition = build(PartitionData, partition_index=i32(0), records=Records(batch(record_bytes)))
    message = build(
        FetchResponse,
        responses=(build(FetchableTopicResponse, topic="big", partitions=(partition,)),),
    )
    return struct.pack(">i", correlation_id) + b"\x00" + encode(message)
