"""Against the real broker: requests that break the protocol rules metering relies on are
refused, and what the broker stored before is charged; so is what a client leaving at once
had the broker store.

Expected bytes come from the batches as sent (encoded by kafka-python) and from what the broker
stored (read back directly), never from the gateway's own parsing.
"""

from __future__ import annotations

import datetime
import os
import socket

import pytest
from kio.schema.fetch.v4.request import FetchPartition, FetchRequest, FetchTopic
from kio.schema.produce.v3.request import ProduceRequest as ProduceRequestV3
from kio.static.primitive import i8, i16, i32, i32Timedelta, i64

from chargeback.broker import EmbeddedBroker
from chargeback.usage import Direction
from tests.gateway.clients import create_topic, produce, wait_for
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import (
    CLIENT_ID,
    RawKafka,
    produce_frame,
    record_batch,
    request_payload,
    stored_data_bytes,
)

pytestmark = pytest.mark.broker

_FIVE_SECONDS = i32Timedelta.parse(datetime.timedelta(seconds=5))


def _frames_until_closed(client: RawKafka) -> list[bytes]:
    """Read frames until the gateway closes the connection."""
    frames = []
    while True:
        try:
            frames.append(client.receive_raw())
        except ConnectionError:
            return frames


def _wait_until_closed(gateway: GatewayThread) -> None:
    """Wait until the gateway accepted the test's one connection and closed it again (which it
    does once the broker answered what it was sent)."""
    wait_for(
        lambda: (
            gateway.metric_value("chargeback_gateway_connections_total") == 1
            and gateway.metric_value("chargeback_gateway_connections_open") == 0
        ),
        "the gateway to close the connection",
    )


def _errors(gateway: GatewayThread, kind: str) -> float:
    return gateway.metric_value("chargeback_gateway_errors_total", kind=kind)


@pytest.mark.parametrize("second_topic", ["same", "other"])
def test_a_produce_reusing_an_unanswered_correlation_id_is_refused_and_the_first_is_charged(
    broker: EmbeddedBroker,
    gateway: GatewayThread,
    sink: MemorySink,
    topic: str,
    second_topic: str,
) -> None:
    # Given: two pipelined Produce requests (acks=1), both with correlation id 7: a 100 KB
    # batch, then a small one
    other = topic if second_topic == "same" else f"{topic}-other"
    for name in {topic, other}:
        create_topic(broker.bootstrap, name)
    big, small = record_batch([os.urandom(100_000)]), record_batch([b"s" * 10])
    first = produce_frame(7, [(topic, 0, big)], acks=1)
    second = produce_frame(7, [(other, 0, small)], acks=1)
    # When
    with RawKafka(gateway.bootstrap) as client:
        client.send_raw(first)
        client.send_raw(second)
        _frames_until_closed(client)
    _wait_until_closed(gateway)
    gateway.flush()
    # Then: the broker stored only the first, and exactly that is charged
    stored = {name: stored_data_bytes(broker.bootstrap, name) for name in {topic, other}}
    assert stored == {topic: len(big)} | ({other: 0} if other != topic else {})
    assert sink.bytes_by(Direction.INGRESS) == {(CLIENT_ID, topic): len(big)}
    assert _errors(gateway, "correlation_id_reused") == 1


def test_a_fetch_reusing_the_correlation_id_of_an_acks_zero_produce_is_refused(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given: 200 KB of records in a topic; an acks=0 Produce v3 naming no topic (Tansu answers
    # it, in 8 bytes), and a Fetch v4 of those records, both with correlation id 42
    produce(broker.bootstrap, topic, [b"r" * 1000] * 200)
    empty_produce = ProduceRequestV3(
        transactional_id=None, acks=i16(0), timeout=_FIVE_SECONDS, topic_data=()
    )
    fetch = FetchRequest(
        replica_id=i32(-1),
        max_wait=i32Timedelta.parse(datetime.timedelta(milliseconds=200)),
        min_bytes=i32(1),
        max_bytes=i32(1 << 24),
        isolation_level=i8(0),
        topics=(
            FetchTopic(
                topic=topic,
                partitions=(
                    FetchPartition(
                        partition=i32(0), fetch_offset=i64(0), partition_max_bytes=i32(1 << 24)
                    ),
                ),
            ),
        ),
    )
    # When
    with RawKafka(gateway.bootstrap) as client:
        client.send_raw(request_payload(empty_produce, 42))
        client.send_raw(request_payload(fetch, 42))
        received = _frames_until_closed(client)
    _wait_until_closed(gateway)
    gateway.flush()
    # Then: no records reached the client (the Fetch never reached the broker), nothing is
    # charged, and the refusal is counted
    assert [len(frame) for frame in received if len(frame) > 1000] == []
    assert sink.bytes_by(Direction.EGRESS) == {}
    assert _errors(gateway, "correlation_id_reused") == 1


@pytest.mark.parametrize("value_bytes", [1000, 200_000], ids=["whole", "streamed"])
def test_a_produce_naming_a_partition_twice_is_refused_and_the_broker_stores_none_of_it(
    broker: EmbeddedBroker,
    gateway: GatewayThread,
    sink: MemorySink,
    topic: str,
    value_bytes: int,
) -> None:
    # Given: a valid Produce, then one naming partition 0 twice (at 400 KB it is forwarded
    # while it arrives)
    create_topic(broker.bootstrap, topic)
    before = record_batch([b"b" * 500])
    first, second = (record_batch([os.urandom(value_bytes)]) for _ in range(2))
    # When
    with RawKafka(gateway.bootstrap) as client:
        client.send_raw(produce_frame(1, [(topic, 0, before)]))
        client.send_raw(produce_frame(2, [(topic, 0, first), (topic, 0, second)]))
        _frames_until_closed(client)
    _wait_until_closed(gateway)
    gateway.flush()
    # Then
    assert stored_data_bytes(broker.bootstrap, topic) == len(before)
    assert sink.bytes_by(Direction.INGRESS) == {(CLIENT_ID, topic): len(before)}
    assert _errors(gateway, "duplicate_partition") == 1


def test_a_client_that_closes_right_after_producing_pays_for_what_the_broker_stored(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    create_topic(broker.bootstrap, topic)
    batch = record_batch([os.urandom(50_000) for _ in range(4)])
    host, port = gateway.bootstrap.rsplit(":", 1)
    # When: the client sends a Produce and closes without waiting for the answer
    with socket.create_connection((host, int(port))) as client:
        payload = produce_frame(1, [(topic, 0, batch)])
        client.sendall(len(payload).to_bytes(4, "big") + payload)
    _wait_until_closed(gateway)
    gateway.flush()
    # Then: the broker stored the batch, and it is charged
    assert stored_data_bytes(broker.bootstrap, topic) == len(batch)
    assert sink.bytes_by(Direction.INGRESS) == {(CLIENT_ID, topic): len(batch)}
