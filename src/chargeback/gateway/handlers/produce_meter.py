"""Produce meter: ingress = record batches the broker accepted (spec section 1).

The request's batch sizes are remembered per correlation id and counted when the response says
the partition's error code is 0. With acks=0 no response comes, so the batches count as sent.
"""

from __future__ import annotations

import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from chargeback.gateway.context import ANONYMOUS, ConnectionContext
from chargeback.gateway.counts import EMPTY_TOPIC_NAME, TopicRef
from chargeback.gateway.frames import RequestFrame, ResponseFrame
from chargeback.gateway.wire import data_batch_bytes
from chargeback.usage import Direction, Principal, TopicName

_PartitionBytes = dict[tuple[TopicRef, int], int]


def topic_ref(name: str | None, topic_id: uuid.UUID | None) -> TopicRef:
    """Return the topic as a request names it: its name, else its id (Produce v13+, Fetch v13+).

    A topic with neither (an empty name, which only a hand-made request sends) is counted under
    EMPTY_TOPIC_NAME: never under "", which the store refuses.

    >>> topic_ref("", None)
    '(empty topic name)'
    """
    if name:
        return TopicName(name)
    if topic_id is None:
        return EMPTY_TOPIC_NAME
    return topic_id


def charged_principal(connection: ConnectionContext) -> Principal:
    """Return whom the connection's bytes are charged to: ANONYMOUS rather than an empty name
    (which the store refuses; no identity mode sets one, this keeps it so)."""
    return connection.principal or ANONYMOUS


class ProduceMeter:
    """Counts ingress per (principal, topic) from Produce requests and their responses."""

    def __init__(self, connection: ConnectionContext) -> None:
        self._connection = connection
        self._counts = connection.shared.counts
        self._ingress_bytes = connection.shared.metrics.metered_bytes.labels(Direction.INGRESS)
        self._awaiting: dict[int, _PartitionBytes] = {}

    def on_produce_request(self, frame: RequestFrame) -> None:
        """Measure each partition's batches; count now if acks=0, else when acknowledged."""
        request = frame.skim()
        sizes = _partition_bytes(request, frame.raw)
        if request["acks"] == 0:
            for (topic, _), size in sizes.items():
                self._count(topic, size)
        elif sizes:
            self._awaiting[frame.header.correlation_id] = sizes

    def on_produce_response(self, frame: ResponseFrame) -> None:
        """Count the partitions the broker accepted (error code 0)."""
        sizes = self._awaiting.pop(frame.request.correlation_id, None)
        if not sizes:
            return
        for topic in frame.message().responses:
            ref = topic_ref(getattr(topic, "name", None), getattr(topic, "topic_id", None))
            for partition in topic.partition_responses:
                size = sizes.get((ref, partition.index), 0)
                if size and partition.error_code == ErrorCode.none:
                    self._count(ref, size)

    def on_connection_close(self) -> None:
        """Requests never answered were never acknowledged: they cost nothing."""
        self._awaiting.clear()

    def _count(self, topic: TopicRef, size: int) -> None:
        self._counts.add(charged_principal(self._connection), topic, Direction.INGRESS, size)
        self._ingress_bytes.inc(size)


def _partition_bytes(request: dict[str, Any], raw: bytes) -> _PartitionBytes:
    sizes: _PartitionBytes = {}
    for topic in request["topic_data"] or ():
        ref = topic_ref(topic.get("name"), topic.get("topic_id"))
        for partition in topic["partition_data"] or ():
            span = partition["records"]
            if span is not None:
                key = (ref, partition["index"])
                sizes[key] = sizes.get(key, 0) + data_batch_bytes(raw, span.start, span.end)
    return sizes
