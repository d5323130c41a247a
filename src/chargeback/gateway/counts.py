"""Usage counted in memory until the flush thread takes it: (principal, topic, direction, window).

Connections add to it from the event loop; the flush thread drains it. One lock guards the dict;
an add is a dict update, so the lock is held for well under a microsecond.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from chargeback.gateway.topics import TopicNameCache
from chargeback.usage import (
    WINDOW_SECONDS,
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageRecord,
)

TopicRef = TopicName | uuid.UUID
"""A topic as a request named it: by name, or by id until the id's name is known."""

_Key = tuple[Principal, TopicRef, Direction, int]

EMPTY_TOPIC_NAME = TopicName("(empty topic name)")
"""What usage is stored under when a request names its topic with an empty string and no id.

The store refuses an empty name. Kafka topic names hold only letters, digits, `.`, `_` and `-`,
so this placeholder can never be a real topic's name.
"""


def unresolved_topic_name(topic_id: uuid.UUID) -> TopicName:
    """The name usage of a never-resolved topic id is stored under.

    >>> unresolved_topic_name(uuid.UUID(int=1))
    'topic-id:00000000-0000-0000-0000-000000000001'
    """
    return TopicName(f"topic-id:{topic_id}")


class UsageCounts:
    """Bytes per (principal, topic, direction, window start), waiting to be flushed.

    Shared by every connection of one gateway and its flush thread.
    """

    def __init__(
        self,
        cluster: ClusterName,
        topics: TopicNameCache,
        clock: Callable[[], float] = time.time,
        unresolved_grace_seconds: float = 600.0,
    ) -> None:
        self.cluster = cluster
        self._topics = topics
        self._clock = clock
        # Usage of a topic id whose name is unknown waits this long for a Metadata response
        # that names it, then is stored under its id so that it is never held back forever.
        self._unresolved_grace_seconds = unresolved_grace_seconds
        self._bytes: dict[_Key, int] = {}
        self._lock = threading.Lock()

    def add(self, principal: Principal, topic: TopicRef, direction: Direction, size: int) -> None:
        """Count `size` bytes now."""
        now_seconds = int(self._clock())
        key = (principal, topic, direction, now_seconds - now_seconds % WINDOW_SECONDS)
        with self._lock:
            self._bytes[key] = self._bytes.get(key, 0) + size

    def drain(self, *, everything: bool = False) -> list[UsageRecord]:
        """Take the counts that can be named, as records (one per key), and forget them.

        Counts of unknown topic ids stay until their name is learned, the grace time passes,
        or `everything` is asked for (shutdown).
        """
        oldest_kept_window = self._clock() - self._unresolved_grace_seconds
        totals: dict[tuple[Principal, TopicName, Direction, int], int] = {}
        with self._lock:
            for key in list(self._bytes):
                name = self._name_for(key, everything, oldest_kept_window)
                if name is not None:
                    named = (key[0], name, key[2], key[3])
                    totals[named] = totals.get(named, 0) + self._bytes.pop(key)
        return [self._record(key, size) for key, size in totals.items()]

    def _name_for(self, key: _Key, everything: bool, oldest_window: float) -> TopicName | None:
        topic = key[1]
        if not isinstance(topic, uuid.UUID):
            return topic
        name = self._topics.name_of(topic)
        if name is None and (everything or key[3] + WINDOW_SECONDS <= oldest_window):
            return unresolved_topic_name(topic)
        return name

    def _record(self, key: tuple[Principal, TopicName, Direction, int], size: int) -> UsageRecord:
        principal, topic, direction, window_seconds = key
        window = datetime.fromtimestamp(window_seconds, tz=UTC)
        return UsageRecord(self.cluster, principal, topic, direction, window, size)

    def pending_bytes(self) -> int:
        """Return the bytes counted and not yet drained."""
        with self._lock:
            return sum(self._bytes.values())
