"""Skimming agrees with kio's full decoding, and leaves record sets where they are."""

from __future__ import annotations

import datetime
import importlib
import uuid
from typing import Any

import pytest
from kio.serial import entity_reader
from kio.static.primitive import Records, i16, i32

from chargeback.gateway.skim import RecordSpan, skim
from tests.unit.gateway.framing import batch, build, encode


def _fetch_response(version: int) -> Any:
    module = importlib.import_module(f"kio.schema.fetch.v{version}.response")
    partitions = tuple(
        build(module.PartitionData, partition_index=i32(p), records=Records(batch(50 + p * 10)))
        for p in range(3)
    )
    key = {"topic": "t"} if version < 13 else {"topic_id": uuid.uuid4()}
    return build(
        module.FetchResponse,
        responses=(build(module.FetchableTopicResponse, partitions=partitions, **key),),
    )


def _produce_request(version: int) -> Any:
    module = importlib.import_module(f"kio.schema.produce.v{version}.request")
    partitions = tuple(
        build(module.PartitionProduceData, index=i32(p), records=Records(batch(30 + p)))
        for p in range(2)
    )
    key = {"name": "t"} if version < 13 else {"topic_id": uuid.uuid4()}
    return build(
        module.ProduceRequest,
        acks=i16(-1),
        timeout=datetime.timedelta(seconds=1),
        topic_data=(build(module.TopicProduceData, partition_data=partitions, **key),),
    )


def _spans(value: Any) -> list[RecordSpan]:
    if isinstance(value, RecordSpan):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _spans(item)]
    if isinstance(value, list):
        return [s for item in value for s in _spans(item)]
    return []


def _records(value: Any) -> list[bytes]:
    if isinstance(value, bytes):
        return [value]
    if hasattr(value, "__dataclass_fields__"):
        return [r for name in value.__dataclass_fields__ for r in _records(getattr(value, name))]
    if isinstance(value, tuple):
        return [r for item in value for r in _records(item)]
    return []


@pytest.mark.parametrize(
    "message",
    [_fetch_response(v) for v in (4, 7, 11, 12, 13, 16, 17, 18)]
    + [_produce_request(v) for v in (3, 8, 9, 11, 13)],
    ids=lambda m: f"{type(m).__name__}-v{m.__version__}",
)
def test_skimmed_record_spans_hold_the_records_kio_decodes(message: Any) -> None:
    # Given
    raw = b"HEAD" + encode(message)
    decoded, _ = entity_reader(type(message))(raw, 4)
    # When
    skimmed = skim(type(message), raw, 4)
    # Then
    assert [raw[s.start : s.end] for s in _spans(skimmed)] == _records(decoded)
    assert len(_spans(skimmed)) in (2, 3)
