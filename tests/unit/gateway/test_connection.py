"""The connection loop against a scripted broker, for what Tansu cannot show.

Tansu answers acks=0 and knows no version newer than kio does; Apache Kafka never answers
acks=0, and a future broker speaks versions the gateway cannot parse.
"""

from __future__ import annotations

import asyncio
import struct

from kio.schema.produce.v9.request import ProduceRequest
from kio.static.primitive import i16

from chargeback.usage import Direction
from tests.gateway.harness import MemorySink
from tests.unit.gateway.framing import request_frame
from tests.unit.gateway.scripted import ScriptedBroker, exchange, fetch_answer, start_gateway


def _correlation_id(frame: bytes) -> bytes:
    return frame[4:8]


async def test_a_version_newer_than_kio_knows_passes_both_ways_untouched(
    sink: MemorySink,
) -> None:
    # Given: Produce v99 from a future client; the future broker answers with future bytes
    request = struct.pack(">hhih", 0, 99, 77, 6) + b"future" + b"\x00\x01opaque-future-body"
    answer = struct.pack(">i", 77) + b"\x00future-response-body\xff"
    broker = ScriptedBroker(lambda _frame: answer)
    await broker.start()
    gateway = await start_gateway(broker, sink)
    # When
    received = await exchange(gateway, [request], answers=1)
    await gateway.stop()
    await broker.stop()
    # Then
    assert broker.received == [request]
    assert received == [answer]
    unmetered = gateway.metrics.registry.get_sample_value(
        "chargeback_gateway_unmetered_frames_total", {"api": "produce", "version": "99"}
    )
    assert unmetered == 1.0
    assert sink.bytes_by(Direction.INGRESS) == {}


def _produce(acks: int, correlation_id: int) -> bytes:
    from tests.unit.gateway.test_skim import _produce_request

    message = _produce_request(9)
    message = type(message)(
        transactional_id=None,
        acks=i16(acks),
        timeout=message.timeout,
        topic_data=message.topic_data,
    )
    assert isinstance(message, ProduceRequest)
    return request_frame(message, correlation_id).raw


async def test_acks_zero_gets_no_answer_and_the_next_request_is_not_held_up(
    sink: MemorySink,
) -> None:
    # Given: Kafka-style broker: no answer to acks=0, echo-style answer to anything else
    def kafka_like(frame: bytes) -> bytes | None:
        api_key, _, correlation_id = struct.unpack_from(">hhi", frame)
        if api_key == 0:
            return None
        return struct.pack(">i", correlation_id) + b"heartbeat-answer"

    broker = ScriptedBroker(kafka_like)
    await broker.start()
    gateway = await start_gateway(broker, sink)
    heartbeat = struct.pack(">hhih", 12, 0, 2, 1) + b"h" + b"heartbeat-body"
    # When
    received = await exchange(gateway, [_produce(0, 1), heartbeat], answers=1)
    await gateway.stop()
    await broker.stop()
    # Then: the two batches of the skim test's Produce (30 and 31 bytes) count as sent
    assert received == [struct.pack(">i", 2) + b"heartbeat-answer"]
    assert sink.bytes_by(Direction.INGRESS) == {("unit-test", "t"): 61}


async def test_a_response_larger_than_the_request_limit_passes_whole(sink: MemorySink) -> None:
    # Given: requests limited to 1 MiB, and a broker answering with a 3 MB frame (a response
    # is as large as the client asked for; the limit is for what clients send)
    answer = struct.pack(">i", 8) + bytes(range(256)) * (3_000_000 // 256)
    broker = ScriptedBroker(lambda _frame: answer)
    await broker.start()
    gateway = await start_gateway(broker, sink, max_frame_bytes=1024 * 1024)
    request = struct.pack(">hhih", 12, 0, 8, 1) + b"c" + b"body"
    # When
    received = await exchange(gateway, [request], answers=1)
    await gateway.stop()
    await broker.stop()
    # Then
    assert len(answer) > 1024 * 1024
    assert received == [answer]


def _kafka_like(frame: bytes) -> bytes | None:
    """Apache Kafka's way: no answer to a Produce with acks=0, an answer to anything else.

    The test's Produce frames carry acks right after a null transactional id (one byte).
    """
    api_key, _, correlation_id = struct.unpack_from(">hhi", frame)
    (client_id_bytes,) = struct.unpack_from(">h", frame, 8)
    # A Produce of a version kio does not know: header v2 (tags), null transactional id.
    acks_at = 10 + client_id_bytes + 1 + 1
    if api_key == 0 and struct.unpack_from(">h", frame, acks_at) == (0,):
        return None
    return struct.pack(">i", correlation_id) + b"answer"


async def test_acks_zero_of_a_version_newer_than_kio_knows_holds_up_nothing(
    sink: MemorySink,
) -> None:
    # Given: a future client sends Produce v14 with acks=0, then a Heartbeat and a Produce v14
    # with acks=1, to a broker that (like Kafka) never answers acks=0
    broker = ScriptedBroker(_kafka_like)
    await broker.start()
    gateway = await start_gateway(broker, sink)

    def future_produce(acks: int, correlation_id: int) -> bytes:
        header = struct.pack(">hhih", 0, 14, correlation_id, 1) + b"f" + b"\x00"
        return header + b"\x00" + struct.pack(">h", acks) + b"future-produce-body"

    heartbeat = struct.pack(">hhih", 12, 0, 2, 1) + b"f" + b"heartbeat-body"
    requests = [future_produce(0, 1), heartbeat, future_produce(1, 3)]
    # When
    received = await exchange(gateway, requests, answers=2)
    await gateway.stop()
    await broker.stop()
    # Then: the answers come back, in order; the acks=0 request went to the broker too
    assert received == [struct.pack(">i", n) + b"answer" for n in (2, 3)]
    assert broker.received == requests


async def test_pipelined_requests_come_back_in_order_with_exact_correlation(
    sink: MemorySink,
) -> None:
    # Given
    broker = ScriptedBroker(lambda frame: frame[4:8] + b"answer-" + frame[4:8])
    await broker.start()
    gateway = await start_gateway(broker, sink)
    requests = [struct.pack(">hhih", 12, 0, n, 1) + b"c" + b"body" for n in (5, 3, 9, 1)]
    # When
    received = await exchange(gateway, requests, answers=4)
    await gateway.stop()
    await broker.stop()
    # Then
    assert [r[:4] for r in received] == [struct.pack(">i", n) for n in (5, 3, 9, 1)]
    assert broker.received == requests


async def test_a_large_fetch_response_reaches_the_client_before_the_broker_finished_it(
    sink: MemorySink,
) -> None:
    # Given: a broker that sends the first half of a 2 MB Fetch response, then waits
    answer = fetch_answer(4, 2_000_000)
    second_half_may_go = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(struct.unpack(">i", await reader.readexactly(4))[0])
        half = len(answer) // 2
        writer.write(struct.pack(">i", len(answer)) + answer[:half])
        await writer.drain()
        await second_half_may_go.wait()
        writer.write(answer[half:])
        await writer.drain()
        await reader.read()  # until the gateway closes
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    broker = ScriptedBroker(lambda _frame: None)
    broker.port = server.sockets[0].getsockname()[1]
    gateway = await start_gateway(broker, sink)
    fetch = struct.pack(">hhih", 1, 12, 4, 1) + b"c" + b"\x00" * 40
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    writer.write(struct.pack(">i", len(fetch)) + fetch)
    # When: the client reads the first megabyte while the broker still holds the rest
    first_part = await reader.readexactly(4 + len(answer) // 2)
    second_half_may_go.set()
    rest = await reader.readexactly(len(answer) - len(answer) // 2)
    writer.close()
    await writer.wait_closed()
    await gateway.stop()
    server.close()
    await server.wait_closed()
    # Then: the bytes are the broker's, and the complete batch was metered once
    assert first_part[4:] + rest == answer
    assert sink.bytes_by(Direction.EGRESS) == {("c", "big"): 2_000_000}


async def test_a_broker_closing_the_connection_closes_the_client_connection(
    sink: MemorySink,
) -> None:
    # Given: a broker that hangs up after its first answer (an upstream idle timeout)
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frame = await reader.readexactly(struct.unpack(">i", await reader.readexactly(4))[0])
        writer.write(struct.pack(">i", 8) + frame[4:8] + b"done")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    broker = ScriptedBroker(lambda _frame: None)
    broker.port = server.sockets[0].getsockname()[1]
    gateway = await start_gateway(broker, sink)
    request = struct.pack(">hhih", 12, 0, 6, 1) + b"c" + b"body"
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    writer.write(struct.pack(">i", len(request)) + request)
    # When
    answer = await reader.readexactly(12)
    after = await reader.read()
    # Then
    assert answer[4:] == struct.pack(">i", 6) + b"done"
    assert after == b""
    writer.close()
    await writer.wait_closed()
    await gateway.stop()
    server.close()
    await server.wait_closed()
