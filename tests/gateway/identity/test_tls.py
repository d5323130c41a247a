"""TLS through real gateways with real clients: `--principal tls` with mapping rules, and TLS
towards brokers (CA check, the gateway's own client certificate)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from confluent_kafka import Producer

from chargeback.broker import EmbeddedBroker
from chargeback.gateway import PrincipalMode
from chargeback.gateway.identity import (
    CredentialSnapshot,
    IdentitySettings,
    SaslMode,
    client_tls_context,
    parse_mapping_rules,
    server_tls_context,
)
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, consume_all, create_topic, produce
from tests.gateway.harness import MemorySink
from tests.gateway.identity.certificates import CertificateFiles, ThrowawayCa, subject
from tests.gateway.identity.conftest import USERS, GatewayFactory
from tests.gateway.raw_kafka import stored_data_bytes

pytestmark = pytest.mark.broker


def _tls_client(ca: ThrowawayCa, client: CertificateFiles) -> dict[str, Any]:
    return {
        "security.protocol": "SSL",
        "ssl.ca.location": str(ca.cert),
        "ssl.certificate.location": str(client.cert),
        "ssl.key.location": str(client.key),
    }


def _tls_gateway(
    gateways: GatewayFactory, upstream: str, sink: MemorySink, ca: ThrowawayCa, rules: str
) -> Any:
    server = ca.issue("gateway-server", subject("127.0.0.1"), is_server=True)
    return gateways.start(
        upstream,
        sink,
        principal_mode=PrincipalMode.TLS,
        client_tls=server_tls_context(server.cert, server.key, client_ca_file=ca.cert),
        identity=IdentitySettings(principal_rules=parse_mapping_rules(rules)),
    )


def test_client_certificate_subject_mapped_by_the_rules_is_the_service_account(
    broker: EmbeddedBroker, gateways: GatewayFactory, ca: ThrowawayCa, topic: str
) -> None:
    # Given a TLS gateway whose first rule takes the lower-cased CN of subjects in OU=Kafka
    sink = MemorySink()
    rules = "RULE:^CN=([^,]+),OU=Kafka,.*$/$1/L,DEFAULT"
    gateway = _tls_gateway(gateways, broker.bootstrap, sink, ca, rules)
    orders = ca.issue("orders", subject("Svc-Orders", unit="Kafka"), is_server=False)
    audit = ca.issue("audit", subject("auditor", unit="Security"), is_server=False)
    values = [f"tls-{i}".encode() * 40 for i in range(100)]
    create_topic(broker.bootstrap, topic)
    # When one certificate produces and another reads everything, with client ids set
    produce(gateway.bootstrap, topic, values, **_tls_client(ca, orders))
    consumed = consume_all(gateway.bootstrap, topic, len(values), **_tls_client(ca, audit))
    gateway.flush()
    # Then the rule maps the first subject, DEFAULT keeps the second whole
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert consumed == values
    assert sink.bytes_by(Direction.INGRESS) == {("svc-orders", topic): stored}
    assert sink.bytes_by(Direction.EGRESS) == {("CN=auditor,OU=Security,O=Acme", topic): stored}


def test_subject_that_no_rule_maps_is_refused_and_charged_nothing(
    broker: EmbeddedBroker,
    gateways: GatewayFactory,
    ca: ThrowawayCa,
    topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a TLS gateway whose only rule wants OU=Kafka, and a certificate from another OU
    sink = MemorySink()
    gateway = _tls_gateway(
        gateways, broker.bootstrap, sink, ca, "RULE:^CN=([^,]+),OU=Kafka,.*$/$1/"
    )
    stranger = ca.issue("stranger", subject("stranger", unit="Elsewhere"), is_server=False)
    create_topic(broker.bootstrap, topic)
    caplog.set_level(logging.WARNING, logger="chargeback.gateway")
    # When that certificate tries to produce
    producer = Producer({"bootstrap.servers": gateway.bootstrap, **_tls_client(ca, stranger)})
    producer.produce(topic, b"refused")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while "no principal mapping rule matches" not in caplog.text:
        assert time.monotonic() < deadline, "the gateway never refused the subject"
        producer.poll(0.1)
    producer.purge()
    producer.flush(0)
    del producer  # closes its connections before the gateways stop
    gateway.flush()
    # Then the broker stored nothing and nobody was charged
    assert stored_data_bytes(broker.bootstrap, topic) == 0
    assert sink.bytes_by(Direction.INGRESS) == {}


def test_gateway_verifies_the_broker_and_presents_its_own_certificate(
    broker: EmbeddedBroker, gateways: GatewayFactory, ca: ThrowawayCa, topic: str
) -> None:
    # Given an inner TLS gateway (principal = whole subject) in front of Tansu, and an outer
    # client-id gateway that reaches it over TLS with its own client certificate
    inner_sink, outer_sink = MemorySink(), MemorySink()
    inner = _tls_gateway(gateways, broker.bootstrap, inner_sink, ca, "DEFAULT")
    own = ca.issue("outer-gateway", subject("gateway-1"), is_server=False)
    outer = gateways.start(
        inner.bootstrap,
        outer_sink,
        principal_mode=PrincipalMode.CLIENT_ID,
        upstream_tls=client_tls_context(ca.cert, own.cert, own.key),
    )
    values = [b"v" * 300 for _ in range(60)]
    create_topic(broker.bootstrap, topic)
    # When a plaintext client produces through the outer gateway
    produce(outer.bootstrap, topic, values, **{"client.id": "reporting"})
    outer.flush()
    inner.flush()
    # Then the outer gateway charges the client id, the inner one the outer gateway's subject
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert outer_sink.bytes_by(Direction.INGRESS) == {("reporting", topic): stored}
    assert inner_sink.bytes_by(Direction.INGRESS) == {("CN=gateway-1,O=Acme", topic): stored}


def test_broker_whose_certificate_another_ca_signed_is_not_used(
    broker: EmbeddedBroker,
    gateways: GatewayFactory,
    ca: ThrowawayCa,
    tmp_path: Any,
    topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given an inner TLS gateway, and an outer gateway that trusts only another CA
    inner = _tls_gateway(gateways, broker.bootstrap, MemorySink(), ca, "DEFAULT")
    other_ca = ThrowawayCa(tmp_path, name="Other CA")
    own = other_ca.issue("outer-gateway", subject("gateway-1"), is_server=False)
    outer_sink = MemorySink()
    outer = gateways.start(
        inner.bootstrap,
        outer_sink,
        upstream_tls=client_tls_context(other_ca.cert, own.cert, own.key),
    )
    create_topic(broker.bootstrap, topic)
    caplog.set_level(logging.WARNING, logger="chargeback.gateway")
    # When a client produces through the outer gateway
    producer = Producer({"bootstrap.servers": outer.bootstrap, "client.id": "reporting"})
    producer.produce(topic, b"never")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while "CERTIFICATE_VERIFY_FAILED" not in caplog.text:
        assert time.monotonic() < deadline, "the gateway never refused the broker certificate"
        producer.poll(0.1)
    producer.purge()
    producer.flush(0)
    del producer  # closes its connections before the gateways stop
    outer.flush()
    # Then nothing reached the broker and nothing was charged
    assert stored_data_bytes(broker.bootstrap, topic) == 0
    assert outer_sink.bytes_by(Direction.INGRESS) == {}


def test_sasl_over_tls_charges_the_sasl_user(
    broker: EmbeddedBroker,
    gateways: GatewayFactory,
    credentials: CredentialSnapshot,
    ca: ThrowawayCa,
    topic: str,
) -> None:
    # Given a managed-SASL gateway whose listeners speak TLS (Kafka's SASL_SSL)
    sink = MemorySink()
    server = ca.issue("gateway-server", subject("127.0.0.1"), is_server=True)
    gateway = gateways.start(
        broker.bootstrap,
        sink,
        principal_mode=PrincipalMode.SASL,
        client_tls=server_tls_context(server.cert, server.key),
        identity=IdentitySettings(sasl_mode=SaslMode.MANAGED, credentials=credentials),
    )
    create_topic(broker.bootstrap, topic)
    login = {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(ca.cert),
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": USERS["alice"],
    }
    # When alice produces over TLS
    produce(gateway.bootstrap, topic, [b"s" * 250 for _ in range(20)], **login)
    gateway.flush()
    # Then alice pays what the broker stored
    stored = stored_data_bytes(broker.bootstrap, topic)
    assert sink.bytes_by(Direction.INGRESS) == {("alice", topic): stored}
