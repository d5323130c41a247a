"""A connection's requests awaiting their answers: their order, and the correlation ids they hold.

Kafka answers the requests of a connection strictly in order, and a real client never reuses a
correlation id while a request holding it may still be answered. The gateway relies on both:
a request whose correlation id is still held (by a request in the queue, or by an acks=0
Produce whose answer may still come, see `correlation`) is refused, so that every answer
belongs to exactly one request and no answer can pass for another's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from kio.schema.index import api_key_map

from chargeback.gateway.correlation import AcksZeroIds
from chargeback.gateway.errors import CorrelationIdReusedError
from chargeback.gateway.frames import DeferredReply
from chargeback.gateway.wire import RequestHeader


@dataclass(slots=True, eq=False)
class InFlight:
    """A request waiting for its answer; `ready` holds the answer once it is known.

    `sequence` numbers the connection's requests in the order they arrived; `is_forwarded`
    tells a request sent to the broker from one the gateway answers itself.
    """

    header: RequestHeader
    is_parsed: bool
    sequence: int
    is_forwarded: bool = True
    ready: bytes | None = None
    deferred: DeferredReply[Any] | None = None


class InFlightRequests:
    """The queue of one connection's unanswered requests, oldest first."""

    def __init__(self) -> None:
        self._queue: deque[InFlight] = deque()
        self._by_correlation_id: dict[int, InFlight] = {}
        self._acks_zero = AcksZeroIds()
        self._sequence = 0
        self.awaiting_broker = 0
        """How many forwarded requests the broker has not answered yet."""

    def __bool__(self) -> bool:
        return bool(self._queue)

    @property
    def head(self) -> InFlight | None:
        """The oldest request: the next to be answered to the client."""
        return self._queue[0] if self._queue else None

    @property
    def last(self) -> InFlight | None:
        """The request queued last."""
        return self._queue[-1] if self._queue else None

    def refuse_reuse(self, header: RequestHeader, connection: object) -> None:
        """Refuse a request whose correlation id a request that may be answered holds.

        Raises:
            CorrelationIdReusedError: the id is held; the message names `connection`.
        """
        correlation_id = header.correlation_id
        if correlation_id in self._by_correlation_id or correlation_id in self._acks_zero:
            api = api_key_map.get(header.api_key, str(header.api_key))
            raise CorrelationIdReusedError(
                f"{connection}: {api} request reuses correlation id {correlation_id} of a "
                "request whose answer may still come"
            )

    def expect(self, header: RequestHeader, *, is_parsed: bool) -> InFlight:
        """Queue a request forwarded to the broker, which will answer it."""
        self.awaiting_broker += 1
        return self._add(InFlight(header, is_parsed, self._next_sequence()))

    def expect_maybe(self, header: RequestHeader) -> None:
        """Note an acks=0 Produce forwarded to the broker: Kafka never answers it, Tansu does."""
        self._acks_zero.add(self._next_sequence(), header.correlation_id)

    def answer_locally(
        self,
        header: RequestHeader,
        *,
        ready: bytes | None = None,
        deferred: DeferredReply[Any] | None = None,
    ) -> InFlight:
        """Queue a request the gateway answers itself (now: `ready`, or later: `deferred`)."""
        entry = InFlight(header, True, self._next_sequence(), False, ready, deferred)
        return self._add(entry)

    def withdraw(self, entry: InFlight) -> None:
        """Unqueue `entry`, the last request queued, which never reached the broker whole."""
        if self._queue and self._queue[-1] is entry:
            self._queue.pop()
            self._by_correlation_id.pop(entry.header.correlation_id, None)
            if entry.is_forwarded:
                self.awaiting_broker -= 1

    def waiting_for(self, correlation_id: int) -> InFlight | None:
        """The forwarded request a broker answer with `correlation_id` belongs to, if any."""
        entry = self._by_correlation_id.get(correlation_id)
        if entry is None or not entry.is_forwarded or entry.ready is not None:
            return None
        return entry

    def answered(self, entry: InFlight) -> None:
        """The broker's answer to `entry` has arrived (answers come in order, so no acks=0
        Produce sent before it can be answered any more)."""
        self.awaiting_broker -= 1
        self._acks_zero.answered(entry.sequence)

    def pop_ready(self) -> list[bytes]:
        """Unqueue the answers ready at the head of the queue, in order."""
        ready = []
        queue = self._queue
        while queue and queue[0].ready is not None:
            entry = queue.popleft()
            self._by_correlation_id.pop(entry.header.correlation_id, None)
            assert entry.ready is not None
            ready.append(entry.ready)
        return ready

    def pop_head(self) -> InFlight:
        """Unqueue the head (its answer went to the client while it arrived)."""
        entry = self._queue.popleft()
        self._by_correlation_id.pop(entry.header.correlation_id, None)
        return entry

    def _add(self, entry: InFlight) -> InFlight:
        self._queue.append(entry)
        self._by_correlation_id[entry.header.correlation_id] = entry
        return entry

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence
