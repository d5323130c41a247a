"""kafka-python, aiokafka and kcat through the gateway to a real Tansu broker."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import warnings

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

with warnings.catch_warnings():
    # kafka-python 3.0.12 loads its schemas with importlib.resources.read_text (deprecated);
    # that warning is about kafka-python, not about us.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KafkaPythonPartition

from chargeback.broker import EmbeddedBroker
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import stored_data_bytes

pytestmark = pytest.mark.broker


def test_kafka_python_produce_and_consume_are_metered(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    create_topic(broker.bootstrap, topic)
    values = [f"kafka-python-{i}".encode() * 30 for i in range(200)]
    # When
    producer = KafkaProducer(bootstrap_servers=gateway.bootstrap, client_id="kp-producer")
    for value in values:
        producer.send(topic, value)
    producer.flush(timeout=DEADLINE_SECONDS)
    producer.close()
    consumer = KafkaConsumer(
        bootstrap_servers=gateway.bootstrap,
        client_id="kp-consumer",
        enable_auto_commit=False,
        consumer_timeout_ms=int(DEADLINE_SECONDS * 1000),
    )
    consumer.assign([KafkaPythonPartition(topic, 0)])
    consumer.seek_to_beginning()
    consumed = []
    for message in consumer:
        consumed.append(message.value)
        if len(consumed) == len(values):
            break
    consumer.close()
    gateway.flush()
    # Then
    expected = stored_data_bytes(broker.bootstrap, topic)
    assert consumed == values
    assert sink.bytes_by(Direction.INGRESS) == {("kp-producer", topic): expected}
    assert sink.bytes_by(Direction.EGRESS) == {("kp-consumer", topic): expected}


async def _aiokafka_round_trip(bootstrap: str, topic: str, values: list[bytes]) -> list[bytes]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, client_id="aio-producer")
    await producer.start()
    try:
        for value in values:
            await producer.send(topic, value)
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, client_id="aio-consumer", enable_auto_commit=False
    )
    await consumer.start()
    consumed: list[bytes] = []
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning()
        async with asyncio.timeout(DEADLINE_SECONDS):
            while len(consumed) < len(values):
                batch = await consumer.getmany(timeout_ms=500)
                consumed += [m.value for messages in batch.values() for m in messages]
    finally:
        await consumer.stop()
    return consumed


def _describe_cluster(bootstrap: str) -> dict[str, object]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="describer")
    try:
        described: dict[str, object] = admin.describe_cluster()
    finally:
        admin.close()
    return described


def test_describe_cluster_names_only_gateway_addresses(
    broker: EmbeddedBroker, gateway: GatewayThread
) -> None:
    # Given the brokers as the cluster itself describes them
    direct = _describe_cluster(broker.bootstrap)
    # When kafka-python's admin client (which sends DescribeCluster, not Metadata) asks the
    # gateway
    through_gateway = _describe_cluster(gateway.bootstrap)
    # Then the request really was a DescribeCluster, and it names each broker at its gateway port
    # (the first broker seen gets the port after the bootstrap port, as docs/gateway.md says)
    requests = gateway.gateway.metrics.registry.get_sample_value(
        "chargeback_gateway_requests_total", {"api": "describe_cluster"}
    )
    assert requests == 1.0
    gateway_host, gateway_port = gateway.bootstrap.rsplit(":", 1)
    [broker_seen] = direct["brokers"]  # type: ignore[misc]
    assert through_gateway["brokers"] == [
        {**broker_seen, "host": gateway_host, "port": int(gateway_port) + 1}
    ]
    assert broker_seen["port"] != int(gateway_port) + 1
    assert through_gateway["controller_id"] == direct["controller_id"]


def test_aiokafka_produce_and_consume_are_metered(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given
    create_topic(broker.bootstrap, topic)
    values = [f"aiokafka-{i}".encode() * 30 for i in range(200)]
    # When
    consumed = asyncio.run(_aiokafka_round_trip(gateway.bootstrap, topic, values))
    gateway.flush()
    # Then
    expected = stored_data_bytes(broker.bootstrap, topic)
    assert consumed == values
    assert sink.bytes_by(Direction.INGRESS) == {("aio-producer", topic): expected}
    assert sink.bytes_by(Direction.EGRESS) == {("aio-consumer", topic): expected}


def test_kcat_produce_and_consume_are_metered(
    broker: EmbeddedBroker, gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    """Debian's kcat (librdkafka 2.0.2) cannot parse Tansu's own ApiVersions v3 answer; the
    gateway re-encodes it without default-valued tags, so through the gateway kcat works."""
    # Given
    kcat = shutil.which("kcat")
    assert kcat is not None, "kcat is not installed (apt-get install -y kcat)"
    create_topic(broker.bootstrap, topic)
    lines = [f"kcat-line-{i}" * 10 for i in range(100)]
    common = ["-b", gateway.bootstrap, "-t", topic]
    # When
    subprocess.run(
        [kcat, *common, "-P", "-X", "client.id=kcat-producer"],
        input="\n".join(lines).encode(),
        check=True,
        timeout=DEADLINE_SECONDS,
    )
    consumed = subprocess.run(
        [kcat, *common, "-C", "-o", "beginning", "-e", "-X", "client.id=kcat-consumer"],
        capture_output=True,
        check=True,
        timeout=DEADLINE_SECONDS,
    ).stdout.decode()
    gateway.flush()
    # Then
    expected = stored_data_bytes(broker.bootstrap, topic)
    assert consumed.splitlines() == lines
    assert sink.bytes_by(Direction.INGRESS) == {("kcat-producer", topic): expected}
    assert sink.bytes_by(Direction.EGRESS) == {("kcat-consumer", topic): expected}
