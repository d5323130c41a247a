"""Draining: when no further request will be read (the client left, or the gateway stops), the
broker's answers to the requests it was sent are still read and metered, for a bounded time."""

from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass

import pytest

from chargeback.gateway import Gateway
from chargeback.usage import Direction
from tests.gateway.harness import MemorySink
from tests.unit.gateway.scripted import (
    ScriptedBroker,
    fetch_answer,
    fetch_frame,
    frames,
    heartbeat_frame,
    kafka_like,
    metric,
    produce_frame,
    read_until_closed,
    start_gateway,
    until,
)


def _produce_or_fetch(frame: bytes) -> bytes | None:
    """Kafka-like answers; a Fetch gets 1,000 bytes of records."""
    (api_key,) = struct.unpack_from(">h", frame)
    if api_key == 1:
        return fetch_answer(struct.unpack_from(">i", frame, 4)[0], 1000)
    return kafka_like(frame)


PRODUCE = produce_frame(1, partitions=((0, 700),))


@dataclass
class _Held:
    hold: asyncio.Event
    broker: ScriptedBroker
    gateway: Gateway
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


async def _produce_and_fetch_awaiting_answers(sink: MemorySink) -> _Held:
    """A client that sent PRODUCE (700 bytes) and a Fetch (id 2) to a broker that got both
    and answers once `hold` is set."""
    hold = asyncio.Event()
    broker = ScriptedBroker(_produce_or_fetch, hold=hold)
    await broker.start()
    gateway = await start_gateway(broker, sink)
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    writer.write(frames(PRODUCE, fetch_frame(2)))
    await until(lambda: len(broker.received) == 2, "the broker to get both requests")
    return _Held(hold, broker, gateway, reader, writer)


async def test_a_client_that_leaves_pays_for_what_the_broker_stored_not_for_what_it_missed(
    sink: MemorySink, caplog: pytest.LogCaptureFixture
) -> None:
    # Given: a Produce and a Fetch, forwarded; the client closes before either is answered
    caplog.set_level(logging.INFO, logger="chargeback.gateway")
    held = await _produce_and_fetch_awaiting_answers(sink)
    broker, gateway, writer = held.broker, held.gateway, held.writer
    writer.close()
    await until(lambda: "side=requests" in caplog.text, "the gateway to see that the client left")
    # When: the broker answers both
    held.hold.set()
    await until(lambda: metric(gateway, "connections_open") == 0, "the connection to end")
    await gateway.stop()
    await broker.stop()
    # Then: the stored batch is charged; the records nobody received are not
    assert sink.bytes_by(Direction.INGRESS) == {("unit-test", "t"): 700}
    assert sink.bytes_by(Direction.EGRESS) == {}
    assert metric(gateway, "errors_total", kind="drain_timeout") == 0


async def test_a_stopping_gateway_reads_no_new_request_and_forwards_the_answers_it_awaits(
    sink: MemorySink, caplog: pytest.LogCaptureFixture
) -> None:
    # Given: a Produce and a Fetch forwarded, not answered yet
    caplog.set_level(logging.INFO, logger="chargeback.gateway")
    held = await _produce_and_fetch_awaiting_answers(sink)
    broker, gateway, reader, writer = held.broker, held.gateway, held.reader, held.writer
    # When: the gateway stops; then the client sends another request; then the broker answers
    stopping = asyncio.create_task(gateway.stop())
    await until(lambda: "event=gateway_draining" in caplog.text, "the gateway to drain")
    writer.write(frames(heartbeat_frame(3)))
    held.hold.set()
    received = await read_until_closed(reader)
    is_flushed = await stopping
    writer.close()
    await broker.stop()
    # Then: both answers reached the client, in order, and count; the late request was not read
    assert received == [kafka_like(PRODUCE), fetch_answer(2, 1000)]
    assert broker.received == [PRODUCE, fetch_frame(2)]
    assert is_flushed
    assert sink.bytes_by(Direction.INGRESS) == {("unit-test", "t"): 700}
    assert sink.bytes_by(Direction.EGRESS) == {("unit-test", "big"): 1000}


async def test_a_broker_that_never_answers_holds_a_stop_only_for_the_drain_timeout(
    sink: MemorySink,
) -> None:
    # Given: a broker that never answers, and a request in flight
    broker = ScriptedBroker(kafka_like, hold=asyncio.Event())
    await broker.start()
    gateway = await start_gateway(broker, sink, drain_timeout_seconds=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    writer.write(frames(produce_frame(1)))
    await until(lambda: len(broker.received) == 1, "the broker to get the request")
    # When
    is_flushed = await gateway.stop()
    received = await read_until_closed(reader)
    writer.close()
    await broker.stop()
    # Then: the stop ended (the test's deadline would fail it otherwise); nothing was charged,
    # and the request left unanswered is counted
    assert is_flushed
    assert received == []
    assert metric(gateway, "errors_total", kind="drain_timeout") == 1
    assert sink.bytes_by(Direction.INGRESS) == {}


async def test_a_request_partly_received_at_a_stop_is_dropped_and_never_reaches_the_broker(
    sink: MemorySink,
) -> None:
    # Given: the first half of a 400 KB Produce (which the gateway forwards while it arrives)
    broker = ScriptedBroker(kafka_like)
    await broker.start()
    gateway = await start_gateway(broker, sink)
    produce = produce_frame(1, partitions=((0, 200_000), (1, 200_000)))
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    writer.write(frames(produce)[: len(produce) // 2])
    await until(
        lambda: metric(gateway, "requests_total", api="produce") == 1,
        "the gateway to begin reading the request",
    )
    # When
    is_flushed = await gateway.stop()
    received = await read_until_closed(reader)
    writer.close()
    await broker.stop()
    # Then: the stop did not wait for the rest, and nothing of it was stored or charged
    assert is_flushed
    assert received == []
    assert broker.received == []
    assert metric(gateway, "errors_total", kind="drain_timeout") == 0
    assert sink.bytes_by(Direction.INGRESS) == {}
