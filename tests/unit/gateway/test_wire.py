"""Framing and batch headers, byte by byte."""

from __future__ import annotations

import struct

import pytest

from chargeback.gateway.errors import FrameError
from chargeback.gateway.wire import (
    FIRST_FLEXIBLE_PRODUCE_VERSION,
    data_batch_bytes,
    frame_size,
    iter_batches,
    parse_request_header,
    produce_acks,
    request_is_flexible,
)
from tests.unit.gateway.framing import batch


@pytest.mark.parametrize("size", [-1, 0, 1025])
def test_frame_sizes_outside_the_limit_are_refused(size: int) -> None:
    # Given
    prefix = struct.pack(">i", size)
    # When / Then
    with pytest.raises(FrameError, match=f"frame size {size} is outside 1..1024"):
        frame_size(prefix, 1024)


def test_a_flexible_request_header_skips_its_tagged_fields() -> None:
    # Given: Metadata v12 (flexible), client id "ab", one tagged field of 3 bytes
    frame = struct.pack(">hhih", 3, 12, 99, 2) + b"ab" + b"\x01\x05\x03xyz" + b"BODY"
    # When
    header = parse_request_header(frame)
    # Then
    assert (header.api_key, header.api_version, header.correlation_id) == (3, 12, 99)
    assert header.client_id == "ab"
    assert frame[header.body_offset :] == b"BODY"


def test_a_request_version_kio_does_not_know_has_no_body_offset() -> None:
    # Given
    frame = struct.pack(">hhih", 0, 99, 5, -1) + b"whatever"
    # When
    header = parse_request_header(frame)
    # Then
    assert header.body_offset is None
    assert header.client_id is None


def test_a_header_shorter_than_its_fields_is_a_frame_error() -> None:
    # Given
    frame = struct.pack(">hhi", 3, 12, 1) + b"\x00"
    # When / Then
    with pytest.raises(FrameError, match="malformed request header"):
        parse_request_header(frame)


def test_acks_is_read_after_a_flexible_transactional_id() -> None:
    # Given: Produce v9 (flexible, kio knows it), compact nullable string "tx" (length + 1 = 3)
    frame = struct.pack(">hhih", 0, 9, 1, 1) + b"c" + b"\x00" + b"\x03tx" + struct.pack(">h", 0)
    # When
    acks = produce_acks(frame, parse_request_header(frame))
    # Then
    assert acks == 0


@pytest.mark.parametrize(("acks", "version"), [(0, 14), (-1, 14), (0, 99), (1, 99)])
def test_acks_of_a_produce_version_newer_than_kio_knows_is_read(acks: int, version: int) -> None:
    # Given: header v2 (one tagged field), null transactional id, acks, then a body kio cannot
    # know
    header = struct.pack(">hhih", 0, version, 1, 3) + b"cid" + b"\x01\x02\x01z"
    frame = header + b"\x00" + struct.pack(">h", acks) + b"\xff future fields \xff"
    parsed = parse_request_header(frame)
    assert parsed.body_offset is None  # kio does not know this version
    # When
    read = produce_acks(frame, parsed)
    # Then
    assert read == acks


def test_acks_of_a_produce_version_older_than_kio_knows_comes_first_in_the_body() -> None:
    # Given: Produce v2: header v1, no transactional id, acks = 0, timeout, topics
    frame = struct.pack(">hhih", 0, 2, 1, -1) + struct.pack(">hi", 0, 1500) + b"\x00" * 4
    # When
    acks = produce_acks(frame, parse_request_header(frame))
    # Then
    assert acks == 0


def test_produce_is_flexible_from_the_version_the_acks_reader_assumes() -> None:
    # Given
    known = [v for v in range(32) if request_is_flexible(0, v) is not None]
    # When
    flexible = [v for v in known if request_is_flexible(0, v)]
    # Then
    assert flexible == [v for v in known if v >= FIRST_FLEXIBLE_PRODUCE_VERSION]
    assert FIRST_FLEXIBLE_PRODUCE_VERSION in flexible


def test_a_produce_that_ends_before_acks_is_a_frame_error() -> None:
    # Given: Produce v14 whose transactional id claims 5 bytes of which 1 arrived
    frame = struct.pack(">hhih", 0, 14, 1, -1) + b"\x00" + b"\x06t"
    # When / Then
    with pytest.raises(FrameError, match="malformed Produce v14 request"):
        produce_acks(frame, parse_request_header(frame))


def test_batches_are_walked_by_their_headers_only() -> None:
    # Given
    data = batch(100) + batch(64, control=True) + batch(40, magic=1)
    # When
    seen = [(b.size_bytes, b.magic, b.is_control) for b in iter_batches(data, 0, len(data))]
    # Then
    assert seen == [(100, 2, False), (64, 2, True), (40, 1, False)]


@pytest.mark.parametrize("cut_to", [0, 5, 16, 17, 99])
def test_a_partial_last_batch_is_never_counted_or_read_past(cut_to: int) -> None:
    # Given: the buffer goes on after `end`, so reading past it would count garbage
    data = batch(100) + batch(100)[:cut_to] + batch(500)
    end = 100 + cut_to
    # When
    counted = data_batch_bytes(data, 0, end)
    # Then
    assert counted == 100


def test_a_batch_claiming_a_non_positive_length_ends_the_walk() -> None:
    # Given
    broken = struct.pack(">qi", 0, -20) + b"\x00" * 40
    # When / Then
    assert data_batch_bytes(batch(50) + broken, 0, 50 + len(broken)) == 50
