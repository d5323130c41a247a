"""The topic-name cache: topic id -> name, learned from responses. Shared by all connections."""

from __future__ import annotations

import threading
import uuid

from chargeback.usage import TopicName

# Kafka's "no topic id" (all zeros) names nothing.
_ZERO_ID = uuid.UUID(int=0)


class TopicNameCache:
    """Topic ids and their names, as the brokers reported them in Metadata and similar responses.

    Shared: every connection of a gateway and its flush thread use the same instance, so it
    is guarded by a lock. A topic that is deleted and re-created gets a new id; both stay known.
    """

    def __init__(self) -> None:
        self._names: dict[uuid.UUID, TopicName] = {}
        self._lock = threading.Lock()

    def learn(self, topic_id: uuid.UUID | None, name: str | None) -> None:
        """Remember that `topic_id` names `name` (ignores missing or all-zero ids)."""
        if topic_id is None or name is None or topic_id == _ZERO_ID:
            return
        with self._lock:
            self._names[topic_id] = TopicName(name)

    def name_of(self, topic_id: uuid.UUID) -> TopicName | None:
        """Return the name of `topic_id`, or None while it is unknown."""
        with self._lock:
            return self._names.get(topic_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._names)
