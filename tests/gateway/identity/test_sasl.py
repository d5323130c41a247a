"""SASL through real gateways with real clients (confluent-kafka / librdkafka).

A managed-SASL gateway in front of Tansu is a real SASL server; a pass-through gateway in front
of it reads the exchange. Expected bytes come from the broker itself (a raw Fetch of what it
stored), never from the gateways' own parsing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer
from kio.schema.errors import ErrorCode
from kio.schema.sasl_authenticate.v2 import SaslAuthenticateRequest, SaslAuthenticateResponse
from kio.schema.sasl_handshake.v1 import SaslHandshakeRequest
from kio.serial import entity_reader

from chargeback.broker import EmbeddedBroker
from chargeback.gateway.identity import (
    SCRAM_MECHANISMS,
    CredentialSnapshot,
    ScramCredential,
    UpstreamSasl,
    build_plain,
    make_credential,
)
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, consume_all, create_topic, produce, wait_for
from tests.gateway.harness import MemorySink
from tests.gateway.identity.conftest import USERS, GatewayFactory
from tests.gateway.raw_kafka import RawKafka, stored_data_bytes

pytestmark = pytest.mark.broker

MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def _sasl(mechanism: str, user: str, password: str | None = None) -> dict[str, Any]:
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": USERS[user] if password is None else password,
    }


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_passthrough_gateway_attributes_bytes_to_the_sasl_user(
    broker: EmbeddedBroker,
    gateways: GatewayFactory,
    credentials: CredentialSnapshot,
    topic: str,
    mechanism: str,
) -> None:
    # Given a pass-through gateway in front of a managed-SASL gateway in front of Tansu
    managed_sink, passthrough_sink = MemorySink(), MemorySink()
    managed = gateways.managed(broker.bootstrap, managed_sink, credentials)
    passthrough = gateways.passthrough(managed.bootstrap, passthrough_sink)
    values = [f"order-{i}".encode() * 30 for i in range(200)]
    create_topic(broker.bootstrap, topic)
    # When alice produces and svc-billing reads everything, both through the pass-through gateway
    produce(passthrough.bootstrap, topic, values, **_sasl(mechanism, "alice"))
    consumed = consume_all(
        passthrough.bootstrap, topic, len(values), **_sasl(mechanism, "svc-billing")
    )
    passthrough.flush()
    managed.flush()
    # Then both gateways charge the stored bytes to the SASL users, not to client ids
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert consumed == values
    for sink in (passthrough_sink, managed_sink):
        assert sink.bytes_by(Direction.INGRESS) == {("alice", topic): stored}
        assert sink.bytes_by(Direction.EGRESS) == {("svc-billing", topic): stored}


def _authentication_failure(bootstrap: str, config: dict[str, Any], topic: str) -> Producer:
    """Start a producer and return once librdkafka reports an authentication failure."""
    errors: list[KafkaError] = []
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": "intruder",
            **config,
            "error_cb": errors.append,
        }
    )
    producer.produce(topic, b"should never be stored")
    wait_for(
        lambda: (
            producer.poll(0.1) is not None
            and any(e.code() == KafkaError._AUTHENTICATION for e in errors)
        ),
        "an authentication error",
    )
    return producer


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password_fails_the_client_and_attributes_nothing(
    broker: EmbeddedBroker,
    gateways: GatewayFactory,
    credentials: CredentialSnapshot,
    topic: str,
    mechanism: str,
) -> None:
    # Given the two gateways, and a topic that exists
    managed_sink, passthrough_sink = MemorySink(), MemorySink()
    managed = gateways.managed(broker.bootstrap, managed_sink, credentials)
    passthrough = gateways.passthrough(managed.bootstrap, passthrough_sink)
    create_topic(broker.bootstrap, topic)
    # When alice's name comes with a wrong password
    producer = _authentication_failure(
        passthrough.bootstrap, _sasl(mechanism, "alice", password="not-her-password"), topic
    )
    producer.purge()
    producer.flush(0)
    del producer  # closes its connections before the gateways stop
    passthrough.flush()
    managed.flush()
    # Then the broker stored nothing and no gateway charged anyone
    assert stored_data_bytes(broker.bootstrap, topic) == 0
    assert passthrough_sink.bytes_by(Direction.INGRESS) == {}
    assert managed_sink.bytes_by(Direction.INGRESS) == {}


def test_unknown_user_fails_like_a_wrong_password(
    broker: EmbeddedBroker, gateways: GatewayFactory, credentials: CredentialSnapshot, topic: str
) -> None:
    # Given a managed-SASL gateway
    sink = MemorySink()
    managed = gateways.managed(broker.bootstrap, sink, credentials)
    create_topic(broker.bootstrap, topic)
    # When a user it does not know tries SCRAM
    producer = _authentication_failure(
        managed.bootstrap,
        _sasl("SCRAM-SHA-256", "alice", password="x") | {"sasl.username": "nobody"},
        topic,
    )
    producer.purge()
    producer.flush(0)
    del producer  # closes its connections before the gateways stop
    managed.flush()
    # Then nothing was stored or charged
    assert stored_data_bytes(broker.bootstrap, topic) == 0
    assert sink.bytes_by(Direction.INGRESS) == {}


def _plain_login_answer(bootstrap: str, user: str, password: str) -> bytes:
    """The raw SaslAuthenticate response to a PLAIN login (after a SaslHandshake v1)."""
    with RawKafka(bootstrap) as kafka:
        kafka.send(SaslHandshakeRequest(mechanism="PLAIN"))
        kafka.receive_raw()
        kafka.send(SaslAuthenticateRequest(auth_bytes=build_plain(user, password)))
        return kafka.receive_raw()


def test_unknown_user_and_wrong_password_get_identical_plain_answers(
    broker: EmbeddedBroker, gateways: GatewayFactory, credentials: CredentialSnapshot
) -> None:
    # Given a managed-SASL gateway
    managed = gateways.managed(broker.bootstrap, MemorySink(), credentials)
    # When a user it does not know, and alice with a wrong password, log in with PLAIN
    unknown = _plain_login_answer(managed.bootstrap, "nobody", "guess")
    wrong_password = _plain_login_answer(managed.bootstrap, "alice", "guess")
    # Then the bytes of both answers are the same: SASL_AUTHENTICATION_FAILED, naming no one
    assert unknown == wrong_password
    answer, _ = entity_reader(SaslAuthenticateResponse)(unknown, 5)  # after header v1
    assert answer.error_code == ErrorCode.sasl_authentication_failed
    assert b"alice" not in unknown


class ThreadNotingCredentials(CredentialSnapshot):
    """Credentials that note the thread of every lookup (a login reads them while checking)."""

    def __init__(self, credentials: Iterable[ScramCredential]) -> None:
        super().__init__(credentials)
        self.threads: set[int] = set()

    def __call__(self, name: str, mechanism: str) -> ScramCredential | None:
        self.threads.add(threading.get_ident())
        return super().__call__(name, mechanism)


async def _thread_id() -> int:
    return threading.get_ident()


@pytest.mark.parametrize("user", ["alice", "nobody"])
def test_plain_logins_are_checked_off_the_event_loop(
    broker: EmbeddedBroker, gateways: GatewayFactory, user: str
) -> None:
    # Given a managed-SASL gateway whose credentials note who reads them
    noting = ThreadNotingCredentials(
        make_credential("alice", mechanism, USERS["alice"], iterations=4096)
        for mechanism in SCRAM_MECHANISMS
    )
    managed = gateways.managed(broker.bootstrap, MemorySink(), noting)
    event_loop_thread = managed.call(_thread_id())
    # When a PLAIN login (of a known or an unknown user) is checked
    _plain_login_answer(managed.bootstrap, user, "guess")
    # Then it was checked, and never on the gateway's event loop
    assert noting.threads
    assert event_loop_thread not in noting.threads


def test_managed_gateway_closes_connections_that_skip_authentication(
    broker: EmbeddedBroker,
    gateways: GatewayFactory,
    credentials: CredentialSnapshot,
    topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a managed-SASL gateway, and a topic that exists
    sink = MemorySink()
    managed = gateways.managed(broker.bootstrap, sink, credentials)
    create_topic(broker.bootstrap, topic)
    caplog.set_level(logging.WARNING, logger="chargeback.gateway")
    # When a client without SASL tries to produce through it
    producer = Producer({"bootstrap.servers": managed.bootstrap, "client.id": "sneaky"})
    producer.produce(topic, b"unauthenticated")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while "before authentication" not in caplog.text:
        assert time.monotonic() < deadline, "the gateway never refused the connection"
        producer.poll(0.1)
    producer.purge()
    producer.flush(0)
    del producer  # closes its connections before the gateways stop
    managed.flush()
    # Then the broker stored nothing and nothing was charged
    assert stored_data_bytes(broker.bootstrap, topic) == 0
    assert sink.bytes_by(Direction.INGRESS) == {}


def test_gateway_logs_in_to_its_upstream_with_its_own_credentials(
    broker: EmbeddedBroker, gateways: GatewayFactory, credentials: CredentialSnapshot, topic: str
) -> None:
    # Given a managed gateway that logs in upstream as gw-upstream (SCRAM-SHA-512) to another
    # managed gateway in front of Tansu
    inner_sink, outer_sink = MemorySink(), MemorySink()
    inner = gateways.managed(broker.bootstrap, inner_sink, credentials)
    login = UpstreamSasl("SCRAM-SHA-512", "gw-upstream", USERS["gw-upstream"])
    outer = gateways.managed(inner.bootstrap, outer_sink, credentials, upstream_sasl=login)
    values = [b"x" * 500 for _ in range(50)]
    create_topic(broker.bootstrap, topic)
    # When alice produces through the outer gateway
    produce(outer.bootstrap, topic, values, **_sasl("SCRAM-SHA-256", "alice"))
    outer.flush()
    inner.flush()
    # Then the outer gateway charges alice, the inner one the gateway's own account
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert outer_sink.bytes_by(Direction.INGRESS) == {("alice", topic): stored}
    assert inner_sink.bytes_by(Direction.INGRESS) == {("gw-upstream", topic): stored}


def test_reauthentication_keeps_the_connection_and_the_principal(
    broker: EmbeddedBroker,
    gateways: GatewayFactory,
    credentials: CredentialSnapshot,
    topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a managed gateway whose SASL sessions last 2 s (KIP-368), behind a pass-through one
    managed_sink, passthrough_sink = MemorySink(), MemorySink()
    managed = gateways.managed(
        broker.bootstrap, managed_sink, credentials, session_lifetime_ms=2000
    )
    passthrough = gateways.passthrough(managed.bootstrap, passthrough_sink)
    create_topic(broker.bootstrap, topic)
    caplog.set_level(logging.INFO, logger="chargeback.gateway.handlers")
    producer = Producer(
        {"bootstrap.servers": passthrough.bootstrap, "linger.ms": 0, **_sasl("PLAIN", "alice")}
    )
    sent = 0

    def produce_one() -> bool:
        nonlocal sent
        producer.produce(topic, b"r" * 200)
        sent += 1
        producer.flush(DEADLINE_SECONDS)
        # The pass-through gateway's inspection logs each accepted (re-)authentication.
        return any(
            record.name.endswith("sasl_inspection") and "authentications=3" in record.getMessage()
            for record in caplog.records
        )

    # When alice keeps producing until one connection has authenticated three times
    wait_for(produce_one, "two re-authentications on one connection")
    producer.flush(DEADLINE_SECONDS)
    passthrough.flush()
    managed.flush()
    # Then every record was stored and all of it is charged to alice by both gateways
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert stored > 0
    assert passthrough_sink.bytes_by(Direction.INGRESS) == {("alice", topic): stored}
    assert managed_sink.bytes_by(Direction.INGRESS) == {("alice", topic): stored}
    assert "session expired" not in caplog.text


def test_failed_upstream_login_closes_the_client_connection_and_charges_nothing(
    broker: EmbeddedBroker,
    gateways: GatewayFactory,
    credentials: CredentialSnapshot,
    topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given an outer gateway whose own upstream login (to a managed gateway) has a wrong password
    inner_sink, outer_sink = MemorySink(), MemorySink()
    inner = gateways.managed(broker.bootstrap, inner_sink, credentials)
    login = UpstreamSasl("SCRAM-SHA-256", "gw-upstream", "not-the-password")
    outer = gateways.managed(inner.bootstrap, outer_sink, credentials, upstream_sasl=login)
    create_topic(broker.bootstrap, topic)
    caplog.set_level(logging.WARNING, logger="chargeback.gateway")
    # When alice, with good credentials, tries to produce through the outer gateway
    producer = Producer({"bootstrap.servers": outer.bootstrap, **_sasl("PLAIN", "alice")})
    producer.produce(topic, b"never stored")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while "event=upstream_unreachable" not in caplog.text:
        assert time.monotonic() < deadline, "the outer gateway never reported the failed login"
        producer.poll(0.1)
    producer.purge()
    producer.flush(0)
    del producer  # closes its connections before the gateways stop
    outer.flush()
    inner.flush()
    # Then the reason names the refused login, and nothing was stored or charged
    assert "gw-upstream" in caplog.text
    assert "not-the-password" not in caplog.text
    assert stored_data_bytes(broker.bootstrap, topic) == 0
    assert outer_sink.bytes_by(Direction.INGRESS) == {}
    assert inner_sink.bytes_by(Direction.INGRESS) == {}
