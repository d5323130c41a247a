"""Topic names: learn topic id -> name from responses that carry both, into the shared cache."""

from __future__ import annotations

from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.frames import ResponseFrame


class TopicNames:
    """Feeds the shared `TopicNameCache` from Metadata, CreateTopics, DescribeTopicPartitions."""

    def __init__(self, connection: ConnectionContext) -> None:
        self._topics = connection.shared.topics

    def on_metadata_response(self, frame: ResponseFrame) -> None:
        """Metadata v10+ names every topic id it lists."""
        for topic in frame.message().topics:
            self._topics.learn(getattr(topic, "topic_id", None), topic.name)

    def on_create_topics_response(self, frame: ResponseFrame) -> None:
        """CreateTopics v7+ returns the new topic's id."""
        for topic in frame.message().topics:
            self._topics.learn(getattr(topic, "topic_id", None), topic.name)

    def on_describe_topic_partitions_response(self, frame: ResponseFrame) -> None:
        """DescribeTopicPartitions lists ids and names."""
        for topic in frame.message().topics:
            self._topics.learn(topic.topic_id, topic.name)
