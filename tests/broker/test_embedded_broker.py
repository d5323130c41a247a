"""The embedded Tansu broker starts, serves real clients, restarts on its port and stops."""

import socket

import confluent_kafka
from confluent_kafka.admin import AdminClient, NewTopic

from chargeback.broker import EmbeddedBroker


def _port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _produce_and_read_back(bootstrap: str, topic: str, value: bytes) -> bytes | None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result(timeout=10)
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, value)
    assert producer.flush(10) == 0
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "probe", "enable.auto.commit": False}
    )
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
        for _ in range(20):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                return message.value()  # type: ignore[no-any-return]
        return None
    finally:
        consumer.close()


def test_embedded_broker_serves_a_real_client_and_frees_its_port_on_stop() -> None:
    # Given
    broker = EmbeddedBroker()

    # When
    with broker:
        read_back = _produce_and_read_back(broker.bootstrap, "probe", b"hello")
        was_open = _port_is_open(broker.port)

    # Then
    assert read_back == b"hello"
    assert was_open
    assert not broker.is_running
    assert not _port_is_open(broker.port)


def test_restart_keeps_the_port_and_starts_with_empty_storage() -> None:
    # Given
    with EmbeddedBroker() as broker:
        port = broker.port
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        for future in admin.create_topics([NewTopic("before-restart", 1, 1)]).values():
            future.result(timeout=10)

        # When
        broker.restart()

        # Then
        assert broker.port == port
        topics = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10)
        assert "before-restart" not in topics.topics
