"""Produce meter: ingress = record batches the broker accepted (spec section 1).

The request's batch sizes are remembered per request (keyed by its header, which is the
request's own: two requests never share one, whatever their correlation ids) and counted when
the response says the partition's error code is 0, each partition at most once. With acks=0 no
response comes, so the batches count as sent. A request naming one partition twice is refused
(`DuplicatePartitionError`): Kafka keeps only the last of its batches and answers once, Tansu
keeps both and answers twice, so no rule charges it right on every broker, and no client sends
one.
"""

from __future__ import annotations

import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from chargeback.gateway.context import ANONYMOUS, ConnectionContext
from chargeback.gateway.counts import EMPTY_TOPIC_NAME, TopicRef
from chargeback.gateway.errors import DuplicatePartitionError
from chargeback.gateway.frames import RequestFrame, ResponseFrame
from chargeback.gateway.wire import RequestHeader, data_batch_bytes
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


def charged_principal(connection: ConnectionContext, request: RequestHeader) -> Principal:
    """Return whom the bytes of `request` (and its response) are charged to.

    In client-id mode that is the request's own client.id, not the latest one the connection
    sent; otherwise the connection's principal (set once the broker accepted its login).
    ANONYMOUS rather than an empty name (which the store refuses).
    """
    if connection.charges_request_client_id:
        return Principal(request.client_id or ANONYMOUS)
    return connection.principal or ANONYMOUS


class ProduceMeter:
    """Counts ingress per (principal, topic) from Produce requests and their responses."""

    def __init__(self, connection: ConnectionContext) -> None:
        self._connection = connection
        self._counts = connection.shared.counts
        self._ingress_bytes = connection.shared.metrics.metered_bytes.labels(Direction.INGRESS)
        self._awaiting: dict[RequestHeader, _PartitionBytes] = {}

    def on_produce_request(self, frame: RequestFrame) -> None:
        """Measure each partition's batches; count now if acks=0, else when acknowledged.

        Raises:
            DuplicatePartitionError: the request names a partition twice.
        """
        request = frame.skim()
        sizes = self._partition_bytes(request, frame.raw)
        if request["acks"] == 0:
            for (topic, _), size in sizes.items():
                if size:
                    self._count(frame.header, topic, size)
        elif any(sizes.values()):
            self._awaiting[frame.header] = sizes

    def on_produce_response(self, frame: ResponseFrame) -> None:
        """Count the partitions the broker accepted (error code 0), each at most once."""
        sizes = self._awaiting.pop(frame.request, None)
        if not sizes:
            return
        for topic in frame.message().responses:
            ref = topic_ref(getattr(topic, "name", None), getattr(topic, "topic_id", None))
            for partition in topic.partition_responses:
                # Popped: a response naming a partition twice does not make it cost twice.
                size = sizes.pop((ref, partition.index), 0)
                if size and partition.error_code == ErrorCode.none:
                    self._count(frame.request, ref, size)

    def on_connection_close(self) -> None:
        """Requests never answered were never acknowledged: they cost nothing."""
        self._awaiting.clear()

    def _count(self, request: RequestHeader, topic: TopicRef, size: int) -> None:
        principal = charged_principal(self._connection, request)
        self._counts.add(principal, topic, Direction.INGRESS, size)
        self._ingress_bytes.inc(size)

    def _partition_bytes(self, request: dict[str, Any], raw: bytes) -> _PartitionBytes:
        """Return the data batch bytes per (topic, partition) of a Produce request.

        Raises:
            DuplicatePartitionError: a (topic, partition) appears twice.
        """
        sizes: _PartitionBytes = {}
        for topic in request["topic_data"] or ():
            ref = topic_ref(topic.get("name"), topic.get("topic_id"))
            for partition in topic["partition_data"] or ():
                key = (ref, partition["index"])
                if key in sizes:
                    raise DuplicatePartitionError(
                        f"{self._connection}: Produce request names partition {key[1]} of "
                        f"topic {key[0]} twice"
                    )
                span = partition["records"]
                sizes[key] = 0 if span is None else data_batch_bytes(raw, span.start, span.end)
        return sizes
