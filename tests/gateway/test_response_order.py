"""Responses reach the client whole and in request order, also when the gateway answers some."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from kio.schema.errors import ErrorCode
from kio.schema.fetch.v12.response import FetchResponse
from kio.schema.sasl_authenticate.v2.request import SaslAuthenticateRequest
from kio.schema.sasl_authenticate.v2.response import SaslAuthenticateResponse
from kio.schema.sasl_handshake.v1.request import SaslHandshakeRequest
from kio.schema.sasl_handshake.v1.response import SaslHandshakeResponse
from kio.serial import entity_reader

from chargeback.broker import EmbeddedBroker
from chargeback.gateway import PrincipalMode
from chargeback.gateway.identity import (
    SCRAM_SHA_256,
    CredentialSnapshot,
    IdentitySettings,
    SaslMode,
    make_credential,
)
from chargeback.usage import Direction
from tests.gateway.clients import create_topic, produce, wait_for
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.raw_kafka import RawKafka, fetch_request
from tests.unit.gateway.framing import request_frame

pytestmark = pytest.mark.broker

USER, PASSWORD = "alice", "alice-secret"
# Far more than the gateway buffers for a client that does not read (8 MiB of write buffer, a
# 1 MiB chunk and the kernel's socket buffers), so the response is still streaming when the
# locally answered requests arrive behind it.
RECORD_BYTES = 30_000_000


@pytest.fixture
def managed_gateway(broker: EmbeddedBroker, sink: MemorySink) -> Iterator[GatewayThread]:
    """A gateway that answers SaslHandshake and SaslAuthenticate itself (managed SASL)."""
    credentials = CredentialSnapshot([make_credential(USER, SCRAM_SHA_256, PASSWORD, 4096)])
    identity = IdentitySettings(sasl_mode=SaslMode.MANAGED, credentials=credentials)
    running = GatewayThread(
        broker.bootstrap, sink, principal_mode=PrincipalMode.SASL, identity=identity
    ).start()
    yield running
    running.stop()


def _plain_login(correlation_id: int) -> list[bytes]:
    """SaslHandshake v1 (PLAIN) and SaslAuthenticate v2 frames, as a client sends them."""
    handshake = SaslHandshakeRequest(mechanism="PLAIN")
    authenticate = SaslAuthenticateRequest(auth_bytes=f"\0{USER}\0{PASSWORD}".encode())
    return [
        request_frame(handshake, correlation_id).raw,
        request_frame(authenticate, correlation_id + 1).raw,
    ]


def _decode(frame: bytes, response_type: Any, header_bytes: int) -> tuple[int, Any]:
    (correlation_id,) = struct.unpack_from(">i", frame)
    message, _ = entity_reader(response_type)(frame, header_bytes)
    return correlation_id, message


def _requests_seen(gateway: GatewayThread, api: str) -> float:
    registry = gateway.gateway.metrics.registry
    value = registry.get_sample_value("chargeback_gateway_requests_total", {"api": api})
    return value or 0.0


def test_a_local_answer_waits_behind_a_streamed_fetch_response_instead_of_landing_inside_it(
    broker: EmbeddedBroker, managed_gateway: GatewayThread, sink: MemorySink, topic: str
) -> None:
    # Given: a 30 MB record, and a client logged in through the managed gateway whose
    # Fetch response has begun to stream to it (it read the first bytes, then stops reading)
    create_topic(broker.bootstrap, topic)
    produce(broker.bootstrap, topic, [b"\x07" * RECORD_BYTES], **{"message.max.bytes": 40_000_000})
    with RawKafka(broker.bootstrap) as direct:
        expected_records, _ = direct.fetch_records(topic, 0, 0)
    with RawKafka(managed_gateway.bootstrap, receive_buffer_bytes=64 * 1024) as client:
        for frame in _plain_login(1):
            client.send_raw(frame)
            client.receive_raw()
        client.send_raw(request_frame(fetch_request(topic, 0, 0), 3).raw)
        first_bytes = client.receive_exactly(4 + 1024)
        # When: a KIP-368 re-authentication, which the gateway answers itself, follows
        for frame in _plain_login(4):
            client.send_raw(frame)
        wait_for(
            lambda: _requests_seen(managed_gateway, "sasl_authenticate") == 2,
            "the gateway to answer the re-authentication",
        )
        managed_gateway.call(asyncio.sleep(0))  # the step that answered it has ended
        (fetch_size,) = struct.unpack(">i", first_bytes[:4])
        fetch = first_bytes[4:] + client.receive_exactly(fetch_size - 1024)
        # Then: the Fetch response is whole (nothing was written into it) ...
        assert expected_records in fetch, "the Fetch response arrived mixed with other bytes"
        fetch_id, fetch_message = _decode(fetch, FetchResponse, 5)
        assert fetch_id == 3
        assert fetch_message.responses[0].partitions[0].records == expected_records
        # ... and the local answers follow it, in order
        handshake, authenticate = client.receive_raw(), client.receive_raw()
    handshake_id, handshake_message = _decode(handshake, SaslHandshakeResponse, 4)
    assert (handshake_id, handshake_message.error_code) == (4, ErrorCode.none)
    authenticate_id, authenticate_message = _decode(authenticate, SaslAuthenticateResponse, 5)
    assert (authenticate_id, authenticate_message.error_code) == (5, ErrorCode.none)
    managed_gateway.flush()
    assert sink.bytes_by(Direction.EGRESS) == {(USER, topic): len(expected_records)}
