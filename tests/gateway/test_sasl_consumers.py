"""Consuming with SASL: kafka-python, aiokafka and kcat read through a pass-through gateway in
front of a managed-SASL gateway (Tansu cannot authenticate them itself), and both gateways
charge the egress to the SASL user. Expected bytes are the batches the broker stored."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import warnings
from collections.abc import Callable, Iterator

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AioPartition

from chargeback.broker import EmbeddedBroker
from chargeback.gateway import PrincipalMode
from chargeback.gateway.identity import (
    SCRAM_MECHANISMS,
    CredentialSnapshot,
    IdentitySettings,
    SaslMode,
    make_credential,
)
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic, produce
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import stored_data_bytes

with warnings.catch_warnings():
    # kafka-python 3.0.12 loads its schemas with a deprecated importlib.resources call.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaConsumer

pytestmark = pytest.mark.broker

USER, PASSWORD = "svc-reader", "reader-secret"
VALUES = [f"sasl-read-{i}".encode() * 25 for i in range(150)]

# One consumer library reading `count` records of a topic through a SASL bootstrap server.
ConsumeWithSasl = Callable[[str, str, str, int], list[bytes]]


@pytest.fixture
def sinks() -> tuple[MemorySink, MemorySink]:
    """Where the managed gateway and the pass-through gateway write usage."""
    return MemorySink(), MemorySink()


@pytest.fixture
def sasl_bootstrap(
    broker: EmbeddedBroker, sinks: tuple[MemorySink, MemorySink]
) -> Iterator[tuple[GatewayThread, GatewayThread]]:
    """A pass-through gateway in front of a managed-SASL gateway in front of Tansu."""
    credentials = CredentialSnapshot(
        make_credential(USER, mechanism, PASSWORD, iterations=4096)
        for mechanism in SCRAM_MECHANISMS
    )
    managed_sink, passthrough_sink = sinks
    managed = GatewayThread(
        broker.bootstrap,
        managed_sink,
        principal_mode=PrincipalMode.SASL,
        identity=IdentitySettings(sasl_mode=SaslMode.MANAGED, credentials=credentials),
    ).start()
    passthrough = GatewayThread(
        managed.bootstrap,
        passthrough_sink,
        principal_mode=PrincipalMode.SASL,
        identity=IdentitySettings(sasl_mode=SaslMode.PASSTHROUGH),
    ).start()
    yield managed, passthrough
    passthrough.stop()
    managed.stop()


def _kafka_python_group(bootstrap: str, topic: str, mechanism: str, count: int) -> list[bytes]:
    """A group member (FindCoordinator, JoinGroup, commits) on authenticated connections."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"readers-{topic}",
        auto_offset_reset="earliest",
        # Tansu completes a join only after a wait that grows with the session timeout.
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_plain_username=USER,
        sasl_plain_password=PASSWORD,
        consumer_timeout_ms=int(DEADLINE_SECONDS * 1000),
    )
    consumed = []
    try:
        for message in consumer:
            consumed.append(message.value)
            if len(consumed) == count:
                break
        consumer.commit()
    finally:
        consumer.close()
    return consumed


async def _aiokafka_async(bootstrap: str, topic: str, mechanism: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_plain_username=USER,
        sasl_plain_password=PASSWORD,
    )
    await consumer.start()
    consumed: list[bytes] = []
    try:
        consumer.assign([AioPartition(topic, 0)])
        await consumer.seek_to_beginning()
        async with asyncio.timeout(DEADLINE_SECONDS):
            while len(consumed) < count:
                batch = await consumer.getmany(timeout_ms=500)
                consumed += [m.value for messages in batch.values() for m in messages]
    finally:
        await consumer.stop()
    return consumed


def _aiokafka(bootstrap: str, topic: str, mechanism: str, count: int) -> list[bytes]:
    return asyncio.run(_aiokafka_async(bootstrap, topic, mechanism, count))


def _kcat(bootstrap: str, topic: str, mechanism: str, count: int) -> list[bytes]:
    kcat = shutil.which("kcat")
    assert kcat is not None, "kcat is not installed (apt-get install -y kcat)"
    settings = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": USER,
        "sasl.password": PASSWORD,
    }
    options = [arg for key, value in settings.items() for arg in ("-X", f"{key}={value}")]
    read = subprocess.run(
        [kcat, "-b", bootstrap, "-t", topic, "-C", "-o", "beginning", "-c", str(count), *options],
        capture_output=True,
        check=True,
        timeout=DEADLINE_SECONDS,
    )
    return read.stdout.splitlines()


@pytest.mark.parametrize(
    ("consume", "mechanism"),
    [
        pytest.param(_kafka_python_group, "SCRAM-SHA-512", id="kafka-python-group-scram-512"),
        pytest.param(_aiokafka, "SCRAM-SHA-256", id="aiokafka-scram-256"),
        pytest.param(_kcat, "PLAIN", id="kcat-plain"),
    ],
)
def test_sasl_consumers_egress_is_charged_to_the_sasl_user_by_both_gateways(
    broker: EmbeddedBroker,
    sasl_bootstrap: tuple[GatewayThread, GatewayThread],
    sinks: tuple[MemorySink, MemorySink],
    topic: str,
    consume: ConsumeWithSasl,
    mechanism: str,
) -> None:
    # Given records produced straight to the broker (no ingress through the gateways)
    managed, passthrough = sasl_bootstrap
    create_topic(broker.bootstrap, topic)
    produce(broker.bootstrap, topic, VALUES)
    # When the SASL user reads them all once through both gateways
    consumed = consume(passthrough.bootstrap, topic, mechanism, len(VALUES))
    passthrough.flush()
    managed.flush()
    # Then both gateways charge what the broker stored to that user, as egress only
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert consumed == VALUES
    for sink in sinks:
        assert sink.bytes_by(Direction.EGRESS) == {(USER, topic): stored}
        assert sink.bytes_by(Direction.INGRESS) == {}
