"""ApiVersions capping, broker address rewriting and topic-name learning, with kio-built frames."""

from __future__ import annotations

import struct
import uuid

from kio.schema.api_versions.v0.response import ApiVersion as ApiVersionV0
from kio.schema.api_versions.v0.response import ApiVersionsResponse as ApiVersionsV0
from kio.schema.api_versions.v3.request import ApiVersionsRequest
from kio.schema.api_versions.v3.response import ApiVersion, ApiVersionsResponse
from kio.schema.errors import ErrorCode
from kio.schema.fetch.v17.request import FetchRequest
from kio.schema.fetch.v17.response import (
    FetchableTopicResponse,
    FetchResponse,
    NodeEndpoint,
    PartitionData,
)
from kio.schema.find_coordinator.v3.request import FindCoordinatorRequest as FindCoordinatorV3
from kio.schema.find_coordinator.v3.response import (
    FindCoordinatorResponse as FindCoordinatorResponseV3,
)
from kio.schema.find_coordinator.v6.request import FindCoordinatorRequest
from kio.schema.find_coordinator.v6.response import Coordinator, FindCoordinatorResponse
from kio.schema.metadata.v12.request import MetadataRequest
from kio.schema.metadata.v12.response import (
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponseTopic,
)
from kio.serial import entity_reader
from kio.static.primitive import Records, i16, i32

from chargeback.gateway.chain import build_chain
from chargeback.gateway.handlers.api_versions import ApiVersionsCap
from chargeback.gateway.handlers.broker_addresses import BrokerAddresses
from chargeback.gateway.handlers.topic_names import TopicNames
from chargeback.gateway.wire import RequestHeader
from tests.unit.gateway.framing import (
    LISTEN_PORT,
    batch,
    build,
    make_context,
    request_header_for,
    response_frame,
)


def _hooked_context() -> object:
    context = make_context()
    build_chain(context)  # records the API keys the chain hooks (produce, fetch, ...)
    return context


def test_api_versions_lowers_a_max_above_what_kio_reads_and_never_raises_a_min() -> None:
    # Given: Produce offered as 0..99 (kio reads up to 13), an unhooked API as 0..99
    context = _hooked_context()
    offered = build(
        ApiVersionsResponse,
        api_keys=(
            ApiVersion(api_key=i16(0), min_version=i16(0), max_version=i16(99)),
            ApiVersion(api_key=i16(1), min_version=i16(4), max_version=i16(12)),
            ApiVersion(api_key=i16(57), min_version=i16(0), max_version=i16(99)),
        ),
    )
    frame = response_frame(offered, request_header_for(build(ApiVersionsRequest)))
    # When
    ApiVersionsCap(context).on_api_versions_response(frame)  # type: ignore[arg-type]
    # Then
    versions = {(k.api_key, k.min_version, k.max_version) for k in frame.message().api_keys}
    assert versions == {(0, 0, 13), (1, 4, 12), (57, 0, 99)}


def test_api_versions_error_35_is_read_and_capped_in_its_v0_form() -> None:
    # Given: the client asked v3; the broker does not speak v3 and answers in v0 form
    context = _hooked_context()
    v0_answer = ApiVersionsV0(
        error_code=ErrorCode.unsupported_version,
        api_keys=(ApiVersionV0(api_key=i16(0), min_version=i16(0), max_version=i16(50)),),
    )
    request = RequestHeader(18, 3, 5, "client", 0)
    frame = response_frame(v0_answer, request)
    # When
    ApiVersionsCap(context).on_api_versions_response(frame)  # type: ignore[arg-type]
    # Then: still v0 layout, header v0, Produce capped at 13
    forwarded = frame.encoded()
    assert struct.unpack_from(">i", forwarded)[0] == 5
    decoded, size = entity_reader(ApiVersionsV0)(forwarded, 4)
    assert 4 + size == len(forwarded)
    assert decoded.error_code == ErrorCode.unsupported_version
    assert [(k.api_key, k.max_version) for k in decoded.api_keys] == [(0, 13)]


def _metadata(*brokers: tuple[int, str, int]) -> MetadataResponse:
    return build(
        MetadataResponse,
        brokers=tuple(
            MetadataResponseBroker(node_id=i32(n), host=h, port=i32(p), rack=None)
            for n, h, p in brokers
        ),
        topics=(),
    )


def test_metadata_brokers_get_gateway_ports_in_order_of_first_sight() -> None:
    # Given: Tansu-like node ids, not 0..n
    context = make_context()
    handler = BrokerAddresses(context)
    first = response_frame(
        _metadata((111, "b1.internal", 9092)), request_header_for(build(MetadataRequest))
    )
    second = response_frame(
        _metadata((5, "b5.internal", 9093), (111, "b1.internal", 9092)),
        request_header_for(build(MetadataRequest)),
    )
    # When
    handler.on_metadata_response(first)
    handler.on_metadata_response(second)
    # Then
    rewritten = {(b.node_id, b.host, b.port) for b in second.message().brokers}
    assert rewritten == {
        (111, "gateway.example", LISTEN_PORT + 1),
        (5, "gateway.example", LISTEN_PORT + 2),
    }
    brokers = context.shared.brokers
    assert str(brokers.upstream_for(LISTEN_PORT + 2)) == "b5.internal:9093"
    assert brokers.unopened_ports() == [LISTEN_PORT + 1, LISTEN_PORT + 2]


def test_a_broker_that_moves_keeps_its_gateway_port() -> None:
    # Given
    context = make_context()
    handler = BrokerAddresses(context)
    request = request_header_for(build(MetadataRequest))
    handler.on_metadata_response(response_frame(_metadata((7, "old.internal", 9092)), request))
    moved = response_frame(_metadata((7, "new.internal", 9094)), request)
    # When
    handler.on_metadata_response(moved)
    # Then
    assert [b.port for b in moved.message().brokers] == [LISTEN_PORT + 1]
    assert str(context.shared.brokers.upstream_for(LISTEN_PORT + 1)) == "new.internal:9094"


def test_find_coordinator_is_rewritten_in_both_layouts_and_not_found_is_left_alone() -> None:
    # Given
    context = make_context()
    handler = BrokerAddresses(context)
    old = response_frame(
        build(FindCoordinatorResponseV3, node_id=i32(111), host="b.internal", port=i32(9092)),
        request_header_for(build(FindCoordinatorV3, key="g")),
    )
    new = response_frame(
        build(
            FindCoordinatorResponse,
            coordinators=(
                build(Coordinator, key="g", node_id=i32(111), host="b.internal", port=i32(9092)),
                build(
                    Coordinator,
                    key="h",
                    node_id=i32(-1),
                    host="",
                    port=i32(-1),
                    error_code=ErrorCode.coordinator_not_available,
                ),
            ),
        ),
        request_header_for(build(FindCoordinatorRequest)),
    )
    # When
    handler.on_find_coordinator_response(old)
    handler.on_find_coordinator_response(new)
    # Then
    assert (old.message().host, old.message().port) == ("gateway.example", LISTEN_PORT + 1)
    assert [(c.host, c.port) for c in new.message().coordinators] == [
        ("gateway.example", LISTEN_PORT + 1),
        ("", -1),
    ]


def test_fetch_node_endpoints_are_rewritten_and_record_bytes_kept() -> None:
    # Given
    context = make_context()
    records = Records(batch(80) + batch(90))
    message = build(
        FetchResponse,
        responses=(
            build(
                FetchableTopicResponse,
                topic_id=uuid.uuid4(),
                partitions=(build(PartitionData, partition_index=i32(0), records=records),),
            ),
        ),
        node_endpoints=(NodeEndpoint(node_id=i32(3), host="b3.internal", port=i32(9092)),),
    )
    frame = response_frame(message, request_header_for(build(FetchRequest)))
    # When
    BrokerAddresses(context).on_fetch_response(frame)
    # Then
    forwarded, _ = entity_reader(FetchResponse)(frame.encoded(), frame.body_offset)
    assert [(e.host, e.port) for e in forwarded.node_endpoints] == [
        ("gateway.example", LISTEN_PORT + 1)
    ]
    assert forwarded.responses[0].partitions[0].records == records


def test_a_fetch_without_node_endpoints_is_forwarded_as_it_came() -> None:
    # Given
    context = make_context()
    message = build(FetchResponse, responses=())
    frame = response_frame(message, request_header_for(build(FetchRequest)))
    # When
    BrokerAddresses(context).on_fetch_response(frame)
    # Then
    assert not frame.is_replaced


def test_metadata_teaches_the_shared_cache_topic_names() -> None:
    # Given
    context = make_context()
    topic_id = uuid.uuid4()
    message = build(
        MetadataResponse,
        brokers=(),
        topics=(build(MetadataResponseTopic, name="orders", topic_id=topic_id, partitions=()),),
    )
    # When
    TopicNames(context).on_metadata_response(
        response_frame(message, request_header_for(build(MetadataRequest)))
    )
    # Then
    assert context.shared.topics.name_of(topic_id) == "orders"
