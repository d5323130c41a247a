"""Framing and batch headers, byte by byte."""

from __future__ import annotations

import struct

import pytest

from chargeback.gateway.errors import FrameError
from chargeback.gateway.wire import (
    data_batch_bytes,
    frame_size,
    iter_batches,
    parse_request_header,
    produce_acks,
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
    # Given: compact nullable string "tx" (length + 1 = 3), then acks = 0
    body = b"\x03tx" + struct.pack(">h", 0)
    # When / Then
    assert produce_acks(body, 0, is_flexible=True) == 0


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
