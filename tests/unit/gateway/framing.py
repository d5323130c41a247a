"""Build frames, batches and connection contexts for handler unit tests (kio does the encoding)."""

from __future__ import annotations

import io
import struct
import uuid
from typing import Any

from kio.index import load_request_schema
from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2
from kio.serial import entity_writer
from kio.static.primitive import i16, i32

from chargeback.gateway.brokers import BrokerDirectory, Endpoint
from chargeback.gateway.context import ConnectionContext, GatewayState
from chargeback.gateway.counts import UsageCounts
from chargeback.gateway.frames import RequestFrame, ResponseFrame
from chargeback.gateway.metrics import GatewayMetrics
from chargeback.gateway.settings import GatewaySettings
from chargeback.gateway.topics import TopicNameCache
from chargeback.gateway.wire import RequestHeader, parse_request_header
from chargeback.usage import ClusterName, Principal

LISTEN_PORT = 19092


def encode(message: Any) -> bytes:
    out = io.BytesIO()
    entity_writer(type(message))(out, message)
    return out.getvalue()


def batch(size_bytes: int, *, control: bool = False, magic: int = 2) -> bytes:
    """A record batch (or legacy message) `size_bytes` long whose header says so."""
    assert size_bytes >= 23
    attributes = 0x20 if control else 0
    head = struct.pack(">qiibih", 0, size_bytes - 12, 0, magic, 0, attributes)
    return head + b"\xab" * (size_bytes - len(head))


def request_frame(message: Any, correlation_id: int = 1) -> RequestFrame:
    schema = load_request_schema(message.__api_key__, message.__version__)
    header_type: Any = RequestHeaderV2 if schema.__flexible__ else RequestHeaderV1
    header = header_type(
        request_api_key=i16(message.__api_key__),
        request_api_version=i16(message.__version__),
        correlation_id=i32(correlation_id),
        client_id="unit-test",
    )
    raw = encode(header) + encode(message)
    return RequestFrame(raw, parse_request_header(raw))


def request_header_for(message: Any, correlation_id: int = 1) -> RequestHeader:
    return RequestHeader(
        int(message.__api_key__), int(message.__version__), correlation_id, "unit-test", 0
    )


def response_frame(message: Any, request: RequestHeader) -> ResponseFrame:
    """`message` as the broker would send it back for `request`."""
    is_flexible_header = message.__flexible__ and message.__api_key__ != 18
    header = struct.pack(">i", request.correlation_id) + (b"\x00" if is_flexible_header else b"")
    return ResponseFrame(header + encode(message), len(header), request)


def make_context(principal: str = "alice") -> ConnectionContext:
    topics = TopicNameCache()
    settings = GatewaySettings(
        bootstrap_servers=(Endpoint("10.0.0.1", 9092),), listen=Endpoint("127.0.0.1", LISTEN_PORT)
    )
    state = GatewayState(
        settings=settings,
        brokers=BrokerDirectory(LISTEN_PORT, "gateway.example"),
        topics=topics,
        counts=UsageCounts(ClusterName("unit"), topics),
        metrics=GatewayMetrics(),
    )
    return ConnectionContext(
        connection_id=1,
        client_address="127.0.0.1:50000",
        gateway_port=LISTEN_PORT,
        shared=state,
        principal=Principal(principal),
    )


def topic_id(text: str) -> uuid.UUID:
    return uuid.UUID(text)


def build(entity_type: Any, **given: Any) -> Any:
    """Make `entity_type` from `given`, filling other required fields with neutral values."""
    import dataclasses
    import datetime

    from kio.schema.errors import ErrorCode

    values = dict(given)
    for field in dataclasses.fields(entity_type):
        has_default = not (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        if field.name in values or has_default:
            continue
        kafka_type = field.metadata.get("kafka_type")
        type_text = str(field.type)
        if "None" in type_text:
            values[field.name] = None
        elif type_text.startswith("tuple"):
            values[field.name] = ()
        elif kafka_type == "error_code":
            values[field.name] = ErrorCode.none
        elif kafka_type in ("timedelta_i32", "timedelta_i64"):
            values[field.name] = datetime.timedelta(0)
        elif kafka_type == "string":
            values[field.name] = ""
        elif kafka_type == "bool":
            values[field.name] = False
        else:
            values[field.name] = 0
    return entity_type(**values)
