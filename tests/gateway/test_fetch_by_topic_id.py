"""Fetch v13+ names topics only by id: a real client really fetches that way through the
gateway, and its egress is still charged under the topic's name.

An observer added to the end of each connection's handler chain records the Fetch requests the
client sent (version, topic ids and names, decoded here with kio), so that a change that makes
clients fall back to Fetch v12 or older (by names) cannot silently leave topic-id resolution
untested.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kio.index import load_request_schema
from kio.serial import entity_reader

from chargeback.broker import EmbeddedBroker
from chargeback.gateway.chain import handlers_for
from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.frames import RequestFrame
from chargeback.usage import Direction
from tests.gateway.clients import consume_all, create_topic, produce
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import RawKafka, stored_data_bytes

pytestmark = pytest.mark.broker

_FETCH_KEY = 1
FIRST_FETCH_VERSION_BY_TOPIC_ID = 13


@dataclass(frozen=True)
class SeenFetch:
    """One Fetch request as the client sent it."""

    version: int
    topic_ids: tuple[uuid.UUID | None, ...]
    topic_names: tuple[str | None, ...]


class FetchObserver:
    """Builds handler chains that end with a handler recording every Fetch request."""

    def __init__(self) -> None:
        self.seen: list[SeenFetch] = []
        self._lock = threading.Lock()

    def handlers(self, connection: ConnectionContext) -> list[object]:
        return [*handlers_for(connection), _RecordFetchRequests(self)]

    def record(self, frame: RequestFrame) -> None:
        version = frame.header.api_version
        schema = load_request_schema(_FETCH_KEY, version)
        request, _ = entity_reader(schema)(frame.raw, frame.body_offset)
        seen = SeenFetch(
            version,
            tuple(getattr(t, "topic_id", None) for t in request.topics),
            tuple(getattr(t, "topic", None) for t in request.topics),
        )
        with self._lock:
            self.seen.append(seen)


class _RecordFetchRequests:
    def __init__(self, observer: FetchObserver) -> None:
        self._observer = observer

    def on_fetch_request(self, frame: RequestFrame) -> None:
        self._observer.record(frame)


@pytest.fixture
def observer() -> FetchObserver:
    """Records the Fetch requests of every connection of `observed_gateway`."""
    return FetchObserver()


@pytest.fixture
def observed_gateway(
    broker: EmbeddedBroker, sink: MemorySink, observer: FetchObserver
) -> Iterator[GatewayThread]:
    """A gateway (client-id principal) whose connections record their Fetch requests."""
    running = GatewayThread(broker.bootstrap, sink, handlers=observer.handlers).start()
    yield running
    running.stop()


def test_librdkafka_fetches_by_topic_id_and_egress_is_charged_to_the_topic_name(
    broker: EmbeddedBroker,
    observed_gateway: GatewayThread,
    sink: MemorySink,
    observer: FetchObserver,
    topic: str,
) -> None:
    # Given
    create_topic(broker.bootstrap, topic)
    values = [f"by-id-{i}".encode() * 20 for i in range(300)]
    produce(broker.bootstrap, topic, values)
    with RawKafka(broker.bootstrap) as kafka:
        topic_id = kafka.topic_id(topic)
    # When
    consumed = consume_all(observed_gateway.bootstrap, topic, len(values), **{"client.id": "ida"})
    observed_gateway.flush()
    # Then the client fetched with versions that name topics by id only: this topic's id
    with_topics = [seen for seen in observer.seen if seen.topic_ids]
    assert with_topics, "no Fetch request named a topic"
    assert min(seen.version for seen in observer.seen) >= FIRST_FETCH_VERSION_BY_TOPIC_ID
    assert {i for seen in with_topics for i in seen.topic_ids} == {topic_id}
    assert {n for seen in with_topics for n in seen.topic_names} == {None}
    # and the egress is charged to the topic's name, as the broker stored it
    assert consumed == values
    assert sink.bytes_by(Direction.EGRESS) == {
        ("ida", topic): stored_data_bytes(broker.bootstrap, topic)
    }
