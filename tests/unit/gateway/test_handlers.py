"""ApiVersions capping, broker address rewriting and topic-name learning, with kio-built frames."""

from __future__ import annotations

import importlib
import struct
import uuid
from typing import Any

import pytest
from kio.schema.api_versions.v0.response import ApiVersion as ApiVersionV0
from kio.schema.api_versions.v0.response import ApiVersionsResponse as ApiVersionsV0
from kio.schema.api_versions.v3.request import ApiVersionsRequest
from kio.schema.api_versions.v3.response import ApiVersion, ApiVersionsResponse
from kio.schema.describe_cluster.v0.request import DescribeClusterRequest as DescribeClusterV0
from kio.schema.describe_cluster.v0.response import (
    DescribeClusterResponse as DescribeClusterResponseV0,
)
from kio.schema.describe_cluster.v1.request import DescribeClusterRequest
from kio.schema.describe_cluster.v1.response import (
    DescribeClusterResponse,
)
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
from kio.static.primitive import Records, i8, i16, i32

from chargeback.gateway.chain import build_chain
from chargeback.gateway.handlers.api_versions import ApiVersionsCap
from chargeback.gateway.handlers.broker_addresses import BrokerAddresses
from chargeback.gateway.handlers.topic_names import TopicNames
from chargeback.gateway.wire import RequestHeader
from chargeback.usage import Direction
from tests.unit.gateway.framing import (
    LISTEN_PORT,
    batch,
    build,
    make_context,
    request_frame,
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


def _describe_cluster(response_type: Any, *brokers: tuple[int, str, int], **fields: Any) -> Any:
    broker_type = importlib.import_module(response_type.__module__).DescribeClusterBroker
    return build(
        response_type,
        cluster_id="c1",
        controller_id=i32(brokers[0][0]),
        brokers=tuple(
            build(broker_type, broker_id=i32(n), host=h, port=i32(p)) for n, h, p in brokers
        ),
        **fields,
    )


@pytest.mark.parametrize(
    ("response_type", "request_type"),
    [
        (DescribeClusterResponseV0, DescribeClusterV0),
        (DescribeClusterResponse, DescribeClusterRequest),
    ],
    ids=["v0", "v1"],
)
def test_describe_cluster_brokers_get_gateway_ports_and_the_rest_is_kept(
    response_type: Any, request_type: Any
) -> None:
    # Given two brokers, as the cluster describes them
    context = make_context()
    message = _describe_cluster(response_type, (7, "b7.internal", 9092), (3, "b3.internal", 9093))
    frame = response_frame(message, request_header_for(build(request_type)))
    # When
    BrokerAddresses(context).on_describe_cluster_response(frame)
    # Then: the bytes forwarded name gateway ports, in order of first sight; nothing else changed
    forwarded, _ = entity_reader(response_type)(frame.encoded(), frame.body_offset)
    assert [(b.broker_id, b.host, b.port) for b in forwarded.brokers] == [
        (7, "gateway.example", LISTEN_PORT + 1),
        (3, "gateway.example", LISTEN_PORT + 2),
    ]
    assert (forwarded.cluster_id, forwarded.controller_id) == ("c1", 7)
    brokers = context.shared.brokers
    assert str(brokers.upstream_for(LISTEN_PORT + 2)) == "b3.internal:9093"


def test_describe_cluster_of_controllers_is_forwarded_as_it_came() -> None:
    # Given a DescribeCluster answer listing controllers (endpoint type 2, KIP-919): their node
    # ids may be brokers' ids too, at other ports
    context = make_context()
    controllers = _describe_cluster(
        DescribeClusterResponse, (7, "c7.internal", 9193), endpoint_type=i8(2)
    )
    frame = response_frame(controllers, request_header_for(build(DescribeClusterRequest)))
    # When
    BrokerAddresses(context).on_describe_cluster_response(frame)
    # Then: not rewritten, and broker 7 keeps no controller address
    assert not frame.is_replaced
    assert context.shared.brokers.node_ports() == {}


def _produce_exchange(version: int) -> tuple[Any, Any]:
    """A Produce request for one partition, and a response accepting it whose node_endpoints
    name the new leader of another partition (NOT_LEADER_OR_FOLLOWER)."""
    request_module = importlib.import_module(f"kio.schema.produce.v{version}.request")
    response_module = importlib.import_module(f"kio.schema.produce.v{version}.response")
    key: dict[str, Any] = {"name": "orders"} if version < 13 else {"topic_id": uuid.uuid4()}
    partition = build(request_module.PartitionProduceData, index=i32(0), records=Records(batch(90)))
    request = build(
        request_module.ProduceRequest,
        acks=i16(-1),
        topic_data=(build(request_module.TopicProduceData, partition_data=(partition,), **key),),
    )
    accepted = build(response_module.PartitionProduceResponse, index=i32(0))
    moved = build(
        response_module.PartitionProduceResponse,
        index=i32(1),
        error_code=ErrorCode.not_leader_or_follower,
        current_leader=build(response_module.LeaderIdAndEpoch, leader_id=i32(4)),
    )
    topic = build(
        response_module.TopicProduceResponse, partition_responses=(accepted, moved), **key
    )
    response = build(
        response_module.ProduceResponse,
        responses=(topic,),
        node_endpoints=(
            build(response_module.NodeEndpoint, node_id=i32(4), host="b4.internal", port=i32(9094)),
        ),
    )
    return request, response


@pytest.mark.parametrize("version", [10, 11, 12, 13])
def test_produce_node_endpoints_are_rewritten_and_the_accepted_batch_still_counts(
    version: int,
) -> None:
    # Given a connection with the whole chain, and a Produce it sent
    context = make_context()
    chain = build_chain(context)
    request, response = _produce_exchange(version)
    sent = request_frame(request, correlation_id=5)
    for hook in chain.request_hooks[0]:
        hook(sent)
    frame = response_frame(response, sent.header)
    # When the response passes every response hook
    for hook in chain.response_hooks[0]:
        hook(frame)
    # Then the client learns the new leader at its gateway port, and partition 0 is metered
    forwarded, _ = entity_reader(type(response))(frame.encoded(), frame.body_offset)
    assert [(e.node_id, e.host, e.port) for e in forwarded.node_endpoints] == [
        (4, "gateway.example", LISTEN_PORT + 1)
    ]
    assert forwarded.responses == response.responses
    assert str(context.shared.brokers.upstream_for(LISTEN_PORT + 1)) == "b4.internal:9094"
    counted = context.shared.counts.drain(everything=True)
    assert [(r.direction, r.bytes) for r in counted] == [(Direction.INGRESS, 90)]


def test_a_produce_response_without_node_endpoints_is_forwarded_as_it_came() -> None:
    # Given
    context = make_context()
    request, response = _produce_exchange(10)
    response = type(response)(responses=response.responses, throttle_time=response.throttle_time)
    frame = response_frame(response, request_header_for(request))
    # When
    BrokerAddresses(context).on_produce_response(frame)
    # Then
    assert not frame.is_replaced
