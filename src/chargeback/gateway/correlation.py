"""Which correlation ids a broker may still answer on one connection, after acks=0 requests.

Kafka answers the requests of a connection strictly in order, and never answers a Produce with
acks=0; Tansu answers those too. So the answer to an acks=0 Produce may arrive, or not, until
the broker answers a LATER request: from then on it can no longer come. Until then a request
reusing that correlation id could be taken for the acks=0 Produce's answer (or the other way
round), so the connection refuses it (`CorrelationIdReusedError`).

Memory stays bounded per connection, whatever a client sends: the newest `capacity` ids are
kept exactly; older ones are folded into one range of ids, all of which count as still
answerable. Real clients number requests upwards, so a new id never falls into that range.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

DEFAULT_CAPACITY = 1024


@dataclass(slots=True)
class _Folded:
    """Ids of older acks=0 requests, kept only as the range they span."""

    lowest_id: int
    highest_id: int
    last_sequence: int


class AcksZeroIds:
    """The correlation ids of acks=0 Produce requests whose answer may still come.

    Requests are numbered by `sequence`, in the order they were forwarded.

    >>> ids = AcksZeroIds()
    >>> ids.add(sequence=1, correlation_id=7)
    >>> 7 in ids
    True
    >>> ids.answered(sequence=2)  # the broker answered the request forwarded after it
    >>> 7 in ids
    False
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._recent: deque[tuple[int, int]] = deque()  # (sequence, correlation id), oldest first
        self._ids: set[int] = set()
        self._folded: _Folded | None = None

    def __contains__(self, correlation_id: int) -> bool:
        folded = self._folded
        if folded is not None and folded.lowest_id <= correlation_id <= folded.highest_id:
            return True
        return correlation_id in self._ids

    def add(self, sequence: int, correlation_id: int) -> None:
        """Note an acks=0 Produce forwarded as request number `sequence`."""
        if len(self._recent) >= self._capacity:
            self._fold_oldest()
        self._recent.append((sequence, correlation_id))
        self._ids.add(correlation_id)

    def answered(self, sequence: int) -> None:
        """The broker answered request number `sequence`: no earlier acks=0 answer can come."""
        recent = self._recent
        while recent and recent[0][0] < sequence:
            _, correlation_id = recent.popleft()
            self._ids.discard(correlation_id)
        if self._folded is not None and self._folded.last_sequence < sequence:
            self._folded = None

    def _fold_oldest(self) -> None:
        sequence, correlation_id = self._recent.popleft()
        self._ids.discard(correlation_id)
        folded = self._folded
        if folded is None:
            self._folded = _Folded(correlation_id, correlation_id, sequence)
            return
        folded.lowest_id = min(folded.lowest_id, correlation_id)
        folded.highest_id = max(folded.highest_id, correlation_id)
        folded.last_sequence = sequence
