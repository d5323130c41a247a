"""SASL with other client libraries (kafka-python, aiokafka, kcat) through a pass-through
gateway in front of a managed-SASL gateway: each implements SCRAM and PLAIN its own way."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import warnings

import pytest
from aiokafka import AIOKafkaProducer

from chargeback.broker import EmbeddedBroker
from chargeback.gateway.identity import CredentialSnapshot
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic
from tests.gateway.harness import MemorySink
from tests.gateway.identity.conftest import USERS, GatewayFactory
from tests.gateway.raw_kafka import stored_data_bytes

with warnings.catch_warnings():
    # kafka-python 3.0.12 loads its schemas with a deprecated importlib.resources call.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaProducer

pytestmark = pytest.mark.broker

VALUES = [f"value-{i}".encode() * 25 for i in range(100)]


def _kafka_python(bootstrap: str, topic: str, mechanism: str) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_plain_username="svc-billing",
        sasl_plain_password=USERS["svc-billing"],
    )
    for value in VALUES:
        producer.send(topic, value)
    producer.flush(timeout=DEADLINE_SECONDS)
    producer.close()


async def _aiokafka_async(bootstrap: str, topic: str, mechanism: str) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_plain_username="svc-billing",
        sasl_plain_password=USERS["svc-billing"],
    )
    await producer.start()
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            for value in VALUES:
                await producer.send(topic, value)
            await producer.flush()
    finally:
        await producer.stop()


def _aiokafka(bootstrap: str, topic: str, mechanism: str) -> None:
    asyncio.run(_aiokafka_async(bootstrap, topic, mechanism))


def _kcat(bootstrap: str, topic: str, mechanism: str) -> None:
    kcat = shutil.which("kcat")
    assert kcat is not None, "kcat is not installed (apt-get install -y kcat)"
    settings = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": "svc-billing",
        "sasl.password": USERS["svc-billing"],
    }
    options = [arg for key, value in settings.items() for arg in ("-X", f"{key}={value}")]
    subprocess.run(
        [kcat, "-b", bootstrap, "-t", topic, "-P", *options],
        input=b"\n".join(VALUES),
        check=True,
        timeout=DEADLINE_SECONDS,
    )


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
@pytest.mark.parametrize("client", [_kafka_python, _aiokafka, _kcat], ids=lambda c: c.__name__)
def test_other_clients_sasl_users_are_charged_through_both_gateways(
    broker: EmbeddedBroker,
    gateways: GatewayFactory,
    credentials: CredentialSnapshot,
    topic: str,
    mechanism: str,
    client: object,
) -> None:
    # Given a pass-through gateway in front of a managed-SASL gateway in front of Tansu
    managed_sink, passthrough_sink = MemorySink(), MemorySink()
    managed = gateways.managed(broker.bootstrap, managed_sink, credentials)
    passthrough = gateways.passthrough(managed.bootstrap, passthrough_sink)
    create_topic(broker.bootstrap, topic)
    # When svc-billing produces with this client library
    client(passthrough.bootstrap, topic, mechanism)  # type: ignore[operator]
    passthrough.flush()
    managed.flush()
    # Then both gateways charge what the broker stored to svc-billing
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert stored > 0
    for sink in (passthrough_sink, managed_sink):
        assert sink.bytes_by(Direction.INGRESS) == {("svc-billing", topic): stored}
