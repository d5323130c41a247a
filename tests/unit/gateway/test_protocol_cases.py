"""Protocol cases from tests/data/gateway/*.json: frames built with kio, usage out of the meters."""

from __future__ import annotations

import importlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from kio.schema.errors import ErrorCode
from kio.static.primitive import Records, i16, i32

from chargeback.gateway.errors import DuplicatePartitionError
from chargeback.gateway.handlers.fetch_meter import FetchMeter
from chargeback.gateway.handlers.produce_meter import ProduceMeter
from chargeback.usage import Direction
from tests.unit.gateway.framing import (
    build,
    make_context,
    request_frame,
    request_header_for,
    response_frame,
)

DATA = Path(__file__).parents[2] / "data" / "gateway"


def _cases(name: str) -> list[Any]:
    cases: list[Any] = json.loads((DATA / name).read_text())["cases"]
    return [pytest.param(case, id=case["name"]) for case in cases]


def _record_set(partition: dict[str, Any]) -> Records | None:
    from tests.unit.gateway.framing import batch

    if partition["batches"] is None:
        return None
    parts = []
    for item in partition["batches"]:
        spec = item if isinstance(item, dict) else {"size": item}
        parts.append(
            batch(spec["size"], control=spec.get("control", False), magic=spec.get("magic", 2))
        )
    if "cut_last_to" in partition:
        parts[-1] = parts[-1][: partition["cut_last_to"]]
    return Records(b"".join(parts))


def _topic_key(topic: dict[str, Any], version: int, name_field: str) -> dict[str, Any]:
    if "id" in topic:
        return {"topic_id": uuid.UUID(topic["id"])}
    return {name_field: topic["name"]} if version < 13 else {"topic_id": None}


def _egress_by_topic(context: Any) -> dict[str, int]:
    records = context.shared.counts.drain(everything=True)
    return {r.topic: r.bytes for r in records if r.direction == Direction.EGRESS}


def _ingress_by_topic(context: Any) -> dict[str, int]:
    records = context.shared.counts.drain(everything=True)
    return {r.topic: r.bytes for r in records if r.direction == Direction.INGRESS}


def _fetch_response(case: dict[str, Any]) -> Any:
    module = importlib.import_module(f"kio.schema.fetch.v{case['version']}.response")
    topics = []
    for topic in case["topics"]:
        partitions = tuple(
            build(
                module.PartitionData,
                partition_index=i32(p.get("index", 0)),
                error_code=ErrorCode(p.get("error_code", 0)),
                records=_record_set(p),
            )
            for p in topic["partitions"]
        )
        key = _topic_key(topic, case["version"], "topic")
        topics.append(build(module.FetchableTopicResponse, partitions=partitions, **key))
    top: dict[str, Any] = {"responses": tuple(topics)}
    if case["version"] >= 7:
        top["error_code"] = ErrorCode(case.get("error_code", 0))
        top["session_id"] = i32(case.get("session_id", 0))
    return build(module.FetchResponse, **top)


@pytest.mark.parametrize("case", _cases("fetch_cases.json"))
def test_fetch_case_meters_the_expected_egress(case: dict[str, Any]) -> None:
    # Given
    context = make_context()
    for topic_id, name in case.get("known_topics", {}).items():
        context.shared.topics.learn(uuid.UUID(topic_id), name)
    message = _fetch_response(case)
    request = build(
        importlib.import_module(f"kio.schema.fetch.v{case['version']}.request").FetchRequest
    )
    from tests.unit.gateway.framing import request_header_for

    frame = response_frame(message, request_header_for(request))
    # When
    FetchMeter(context).on_fetch_response(frame)
    # Then
    assert _egress_by_topic(context) == case["expected"]
    assert not frame.is_replaced


def _produce_request(case: dict[str, Any]) -> Any:
    module = importlib.import_module(f"kio.schema.produce.v{case['version']}.request")
    topics = []
    for topic in case["topics"]:
        partitions = tuple(
            build(module.PartitionProduceData, index=i32(p["index"]), records=_record_set(p))
            for p in topic["partitions"]
        )
        key = _topic_key(topic, case["version"], "name")
        topics.append(build(module.TopicProduceData, partition_data=partitions, **key))
    return build(module.ProduceRequest, acks=i16(case["acks"]), topic_data=tuple(topics))


def _produce_response(case: dict[str, Any]) -> Any:
    module = importlib.import_module(f"kio.schema.produce.v{case['version']}.response")
    topics = []
    for topic in case["response"]:
        partitions = tuple(
            build(
                module.PartitionProduceResponse,
                index=i32(p["index"]),
                error_code=ErrorCode(p["error_code"]),
            )
            for p in topic["partitions"]
        )
        key = _topic_key(topic, case["version"], "name")
        topics.append(build(module.TopicProduceResponse, partition_responses=partitions, **key))
    return build(module.ProduceResponse, responses=tuple(topics))


@pytest.mark.parametrize("case", _cases("produce_cases.json"))
def test_produce_case_meters_the_expected_ingress(case: dict[str, Any]) -> None:
    # Given
    context = make_context()
    meter = ProduceMeter(context)
    request = request_frame(_produce_request(case), correlation_id=7)
    meter.on_produce_request(request)
    # When
    if case["response"] is not None:
        meter.on_produce_response(response_frame(_produce_response(case), request.header))
    # Then
    assert _ingress_by_topic(context) == case["expected"]


def test_an_empty_principal_is_charged_as_anonymous_by_both_meters() -> None:
    # Given: a connection whose principal is empty (no identity mode sets one; a defect would)
    context = make_context(principal="")
    topics = [{"name": "orders", "partitions": [{"index": 0, "batches": [60]}]}]
    produce = request_frame(_produce_request({"version": 9, "acks": 0, "topics": topics}))
    fetch = _fetch_response({"version": 12, "topics": topics})
    fetch_request = importlib.import_module("kio.schema.fetch.v12.request").FetchRequest
    # When
    ProduceMeter(context).on_produce_request(produce)
    FetchMeter(context).on_fetch_response(
        response_frame(fetch, request_header_for(build(fetch_request)))
    )
    # Then
    records = context.shared.counts.drain(everything=True)
    assert {(r.service_account, r.direction, r.bytes) for r in records} == {
        ("ANONYMOUS", Direction.INGRESS, 60),
        ("ANONYMOUS", Direction.EGRESS, 60),
    }


def test_two_requests_with_one_correlation_id_are_each_charged_their_own_batches() -> None:
    # Given: two Produce requests in flight with the same correlation id (the connection
    # refuses this; the meter must not mix them up even so)
    context = make_context()
    meter = ProduceMeter(context)
    accepted = [{"name": "orders", "partitions": [{"index": 0, "error_code": 0}]}]
    cases = [
        {"version": 9, "acks": 1, "topics": [{"name": "orders", "partitions": [p]}]}
        for p in ({"index": 0, "batches": [1000]}, {"index": 0, "batches": [78]})
    ]
    first, second = (request_frame(_produce_request(case), correlation_id=7) for case in cases)
    meter.on_produce_request(first)
    meter.on_produce_request(second)
    answers = [
        response_frame(_produce_response({"version": 9, "response": accepted}), frame.header)
        for frame in (first, second)
    ]
    # When
    for answer in answers:
        meter.on_produce_response(answer)
    # Then
    assert _ingress_by_topic(context) == {"orders": 1000 + 78}


@pytest.mark.parametrize(
    ("version", "topics"),
    [
        (9, [{"name": "orders", "partitions": [{"index": 0, "batches": [60]}] * 2}]),
        (9, [{"name": "orders", "partitions": [{"index": 0, "batches": [60]}]}] * 2),
        (
            13,
            [{"id": "3f1d9a8e-2b7c-4c55-8f0e-9a1b2c3d4e5f", "partitions": [{"index": 2}]}] * 2,
        ),
    ],
    ids=["twice-in-one-topic", "in-two-entries-of-one-topic", "twice-by-topic-id"],
)
def test_a_produce_naming_a_partition_twice_is_refused(
    version: int, topics: list[dict[str, Any]]
) -> None:
    # Given
    context = make_context()
    for topic in topics:
        for partition in topic["partitions"]:
            partition.setdefault("batches", [50])
    request = request_frame(_produce_request({"version": version, "acks": 1, "topics": topics}))
    # When
    with pytest.raises(DuplicatePartitionError) as refused:
        ProduceMeter(context).on_produce_request(request)
    # Then
    assert "names partition" in str(refused.value)
    assert "twice" in str(refused.value)
    assert _ingress_by_topic(context) == {}
