"""Fetch meter: egress = complete, non-control record batches delivered (spec section 1).

Fetch responses are skimmed, never decoded: only batch headers are read, at the offsets where
each partition's record set lies. A partial last batch is not counted (the client fetches it
again, whole). Topics named by id (v13+) are resolved through the shared cache, or counted by
id and named at flush time. Fetch sessions need nothing special: every response names the
topic of each partition it carries, whether the session is full or incremental. A response
that arrives after its client left is delivered to no one and costs nothing.
"""

from __future__ import annotations

from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.counts import TopicRef
from chargeback.gateway.frames import ResponseFrame
from chargeback.gateway.handlers.produce_meter import charged_principal, topic_ref
from chargeback.gateway.wire import data_batch_bytes
from chargeback.usage import Direction


class FetchMeter:
    """Counts egress per (principal, topic) from Fetch and ShareFetch responses."""

    def __init__(self, connection: ConnectionContext) -> None:
        self._connection = connection
        self._counts = connection.shared.counts
        self._topics = connection.shared.topics
        self._egress_bytes = connection.shared.metrics.metered_bytes.labels(Direction.EGRESS)

    def on_fetch_response(self, frame: ResponseFrame) -> None:
        """Count the complete data batches of every partition."""
        self._meter(frame)

    def on_share_fetch_response(self, frame: ResponseFrame) -> None:
        """Share groups (KIP-932) receive records the same way."""
        self._meter(frame)

    def _meter(self, frame: ResponseFrame) -> None:
        if not frame.reaches_client:
            return  # egress is what was delivered; a client that is gone received nothing
        response, raw = frame.skim(), frame.raw
        for topic in response["responses"] or ():
            ref = self._resolve(topic_ref(topic.get("topic"), topic.get("topic_id")))
            size = 0
            for partition in topic["partitions"] or ():
                span = partition["records"]
                if span is not None:
                    size += data_batch_bytes(raw, span.start, span.end)
            if size:
                principal = charged_principal(self._connection, frame.request)
                self._counts.add(principal, ref, Direction.EGRESS, size)
                self._egress_bytes.inc(size)

    def _resolve(self, ref: TopicRef) -> TopicRef:
        if isinstance(ref, str):
            return ref
        return self._topics.name_of(ref) or ref
