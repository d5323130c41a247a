"""Protocol rules metering relies on: a request reusing the correlation id of one that may still
be answered, or a Produce naming a partition twice, closes its connection; what the broker did
with the requests before it is still metered."""

from __future__ import annotations

import asyncio
import struct

import pytest

from chargeback.gateway.correlation import AcksZeroIds
from chargeback.usage import Direction
from tests.gateway.harness import MemorySink
from tests.unit.gateway.scripted import (
    ScriptedBroker,
    exchange,
    frames,
    heartbeat_frame,
    kafka_like,
    metric,
    produce_frame,
    read_until_closed,
    start_gateway,
    until,
)


async def test_reusing_the_id_of_an_unanswered_request_closes_the_connection_yet_the_first_counts(
    sink: MemorySink,
) -> None:
    # Given: a broker that answers only once the test says so, and two pipelined Produce
    # requests sharing correlation id 7 (a 1000-byte batch, then a 78-byte one)
    hold = asyncio.Event()
    broker = ScriptedBroker(kafka_like, hold=hold)
    await broker.start()
    gateway = await start_gateway(broker, sink)
    first = produce_frame(7, partitions=((0, 1000),))
    second = produce_frame(7, partitions=((0, 78),))
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    writer.write(frames(first, second))
    # When: the gateway refuses the second, then the broker answers the first
    received = await read_until_closed(reader)
    hold.set()
    await until(lambda: metric(gateway, "connections_open") == 0, "the connection to end")
    writer.close()
    await gateway.stop()
    await broker.stop()
    # Then: the client was sent away without an answer; only the first reached the broker,
    # and it is charged, although its answer came after the client was gone
    assert received == []
    assert broker.received == [first]
    assert metric(gateway, "errors_total", kind="correlation_id_reused") == 1
    assert sink.bytes_by(Direction.INGRESS) == {("unit-test", "t"): 1000}


async def test_a_request_reusing_the_id_of_an_acks_zero_produce_closes_the_connection(
    sink: MemorySink,
) -> None:
    # Given: an acks=0 Produce with id 42, then a request with id 42 before anything else
    # was answered (Tansu would answer the Produce, and its answer would pass for the other's)
    broker = ScriptedBroker(kafka_like)
    await broker.start()
    gateway = await start_gateway(broker, sink)
    produce = produce_frame(42, acks=0, partitions=((0, 500),))
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    writer.write(frames(produce, heartbeat_frame(42)))
    # When
    received = await read_until_closed(reader)
    writer.close()
    await gateway.stop()
    await broker.stop()
    # Then: the acks=0 batch counts as sent; the second request never reached the broker
    assert received == []
    assert broker.received == [produce]
    assert metric(gateway, "errors_total", kind="correlation_id_reused") == 1
    assert sink.bytes_by(Direction.INGRESS) == {("unit-test", "t"): 500}


async def test_an_acks_zero_id_is_free_again_once_a_later_request_was_answered(
    sink: MemorySink,
) -> None:
    # Given: an acks=0 Produce with id 5, then a request with id 6, which the broker answers
    # (answers come in order, so no answer to the Produce can come after it)
    broker = ScriptedBroker(kafka_like)
    await broker.start()
    gateway = await start_gateway(broker, sink)
    produce = produce_frame(5, acks=0)
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    writer.write(frames(produce, heartbeat_frame(6)))
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    first_answer = await reader.readexactly(size)
    # When: id 5 is used again
    writer.write(frames(heartbeat_frame(5)))
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    second_answer = await reader.readexactly(size)
    writer.close()
    await gateway.stop()
    await broker.stop()
    # Then
    assert first_answer == struct.pack(">i", 6) + b"answer"
    assert second_answer == struct.pack(">i", 5) + b"answer"
    assert broker.received == [produce, heartbeat_frame(6), heartbeat_frame(5)]
    assert metric(gateway, "errors_total", kind="correlation_id_reused") == 0


async def test_an_id_is_free_again_once_its_answer_went_back(sink: MemorySink) -> None:
    # Given
    broker = ScriptedBroker(kafka_like)
    await broker.start()
    gateway = await start_gateway(broker, sink)
    # When: three requests one after the other, all with id 3
    answers = [await exchange(gateway, [heartbeat_frame(3)], answers=1) for _ in range(3)]
    await gateway.stop()
    await broker.stop()
    # Then
    assert answers == [[struct.pack(">i", 3) + b"answer"]] * 3


def test_an_acks_zero_id_is_held_until_a_later_request_is_answered() -> None:
    # Given: acks=0 Produce requests as the 2nd and 4th requests of a connection
    ids = AcksZeroIds()
    ids.add(sequence=2, correlation_id=20)
    ids.add(sequence=4, correlation_id=40)
    # When: the answer to the 3rd request arrives
    ids.answered(sequence=3)
    # Then: the 2nd can no longer be answered, the 4th still can
    assert (20 in ids, 40 in ids) == (False, True)


def test_acks_zero_ids_past_the_capacity_are_held_as_a_range() -> None:
    # Given: room for two ids exactly, and four acks=0 requests
    ids = AcksZeroIds(capacity=2)
    for sequence, correlation_id in enumerate((10, 30, 50, 70), start=1):
        ids.add(sequence, correlation_id)
    # When
    held = {n: n in ids for n in (9, 10, 20, 30, 40, 50, 60, 70, 71)}
    # Then: 10 and 30 are folded into the range 10..30, which is held whole
    assert held == {
        9: False,
        10: True,
        20: True,
        30: True,
        40: False,
        50: True,
        60: False,
        70: True,
        71: False,
    }


def test_folded_acks_zero_ids_are_freed_by_an_answer_to_a_later_request() -> None:
    # Given
    ids = AcksZeroIds(capacity=1)
    ids.add(sequence=1, correlation_id=10)
    ids.add(sequence=2, correlation_id=11)
    ids.add(sequence=5, correlation_id=12)
    # When: the answer to the 3rd request arrives
    ids.answered(sequence=3)
    # Then
    assert (10 in ids, 11 in ids, 12 in ids) == (False, False, True)


@pytest.mark.parametrize("batch_bytes", [100, 200_000], ids=["whole", "streamed"])
async def test_a_produce_naming_a_partition_twice_never_reaches_the_broker_whole(
    sink: MemorySink, batch_bytes: int
) -> None:
    # Given: a Produce naming partition 0 twice; at 400 KB it is forwarded while it arrives
    # (the gateway sees the second partition only once most bytes are gone)
    broker = ScriptedBroker(kafka_like)
    await broker.start()
    gateway = await start_gateway(broker, sink)
    before = produce_frame(1, partitions=((0, 60),))
    twice = produce_frame(2, partitions=((0, batch_bytes), (0, batch_bytes)))
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.settings.listen.port)
    writer.write(frames(before, twice))
    # When
    received = await read_until_closed(reader)
    await until(lambda: metric(gateway, "connections_open") == 0, "the connection to end")
    writer.close()
    await gateway.stop()
    await broker.stop()
    # Then: the broker got the request before it, whose batch is charged, and no whole frame
    # of the refused one
    assert len(twice) > 2 * batch_bytes
    assert received in ([], [kafka_like(before)])
    assert broker.received == [before]
    assert metric(gateway, "errors_total", kind="duplicate_partition") == 1
    assert sink.bytes_by(Direction.INGRESS) == {("unit-test", "t"): 60}
