"""Byte-level Kafka framing: frame sizes, request/response headers and record-batch headers.

Everything here reads a few fixed-position integers and never touches record data: counting a
batch costs the same whether it holds 1 byte or 10 MB, compressed or not.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from kio.index import UnknownAPIKey, UnknownEntity, load_request_schema, load_response_schema
from kio.serial.errors import BufferUnderflow, SerialError
from kio.serial.readers import (
    read_compact_string_nullable,
    read_int16,
    read_int32,
    read_nullable_legacy_string,
    read_unsigned_varint,
)

from chargeback.gateway.errors import FrameError

FRAME_SIZE_BYTES = 4
# Both record-batch (magic 2) and legacy message-set (magic 0/1) entries start with
# offset:int64 then size:int32; the entry is size + 12 bytes long, and magic sits at byte 16.
_ENTRY_HEAD = struct.Struct(">qi")
ENTRY_OVERHEAD_BYTES = 12
_MAGIC_POSITION = 16
_ATTRIBUTES = struct.Struct(">h")
_ATTRIBUTES_POSITION = 21
_CONTROL_FLAG = 0x20
_MAGIC_V2 = 2

API_VERSIONS_KEY = 18
# Produce bodies start with acks up to v2, and with transactional_id then acks from v3 on;
# Produce is flexible from v9 on, and a flexible version's successors stay flexible (KIP-482).
# That is enough to find acks in any version, also one newer than kio knows.
_FIRST_PRODUCE_VERSION_WITH_TRANSACTIONAL_ID = 3
FIRST_FLEXIBLE_PRODUCE_VERSION = 9


@dataclass(frozen=True, slots=True, eq=False)
class RequestHeader:
    """The request header fields the gateway needs; `body_offset` is None for unknown versions.

    Compared (and hashed) by identity: each request has a header of its own, also when a client
    repeats every value of an earlier one, so per-request state can be keyed by it.
    """

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    body_offset: int | None


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """One record batch (or legacy message) as seen from its header."""

    size_bytes: int
    magic: int
    is_control: bool


def frame_size(prefix: bytes, max_frame_bytes: int) -> int:
    """Return the payload size announced by a 4-byte frame prefix.

    Raises:
        FrameError: the size is negative, zero or above `max_frame_bytes`.

    >>> frame_size(b"\\x00\\x00\\x00\\x10", 100)
    16
    """
    (size,) = struct.unpack(">i", prefix)
    if size <= 0 or size > max_frame_bytes:
        raise FrameError(f"frame size {size} is outside 1..{max_frame_bytes} bytes")
    return int(size)


def size_prefix(payload_bytes: int) -> bytes:
    """Return the 4-byte big-endian size prefix of a frame of `payload_bytes` bytes."""
    return struct.pack(">i", payload_bytes)


@cache
def request_is_flexible(api_key: int, api_version: int) -> bool | None:
    """Whether kio knows this request version as flexible; None when kio does not know it."""
    try:
        return bool(load_request_schema(api_key, api_version).__flexible__)
    except (UnknownAPIKey, UnknownEntity):
        return None


@cache
def response_header_is_flexible(api_key: int, api_version: int) -> bool | None:
    """Whether the response header carries tagged fields (v1); ApiVersions always uses v0."""
    if api_key == API_VERSIONS_KEY:
        return False
    try:
        return bool(load_response_schema(api_key, api_version).__flexible__)
    except (UnknownAPIKey, UnknownEntity):
        return None


def parse_request_header(frame: bytes) -> RequestHeader:
    """Read the request header at the start of `frame` (the payload after the size prefix).

    Raises:
        FrameError: the header is truncated or malformed.
    """
    try:
        api_key, _ = read_int16(frame, 0)
        api_version, _ = read_int16(frame, 2)
        correlation_id, _ = read_int32(frame, 4)
        client_id, _ = read_nullable_legacy_string(frame, 8)
        flexible = request_is_flexible(api_key, api_version)
        body_offset = None if flexible is None else _request_body_offset(frame, flexible)
    except (SerialError, ValueError, UnicodeDecodeError) as error:
        raise FrameError(f"malformed request header: {error}") from error
    return RequestHeader(api_key, api_version, correlation_id, client_id, body_offset)


def _request_body_offset(frame: bytes, is_flexible: bool) -> int:
    """Return where the body starts: after the client id, and header v2's tagged fields."""
    _, client_id_size = read_nullable_legacy_string(frame, 8)
    offset = 8 + client_id_size
    return skip_tagged_fields(frame, offset) if is_flexible else offset


def response_correlation_id(frame: bytes) -> int:
    """Return the correlation id at the start of a response frame.

    Raises:
        FrameError: the frame is shorter than a correlation id.
    """
    if len(frame) < 4:
        raise FrameError(f"response frame of {len(frame)} bytes has no correlation id")
    value, _ = read_int32(frame, 0)
    return int(value)


def response_body_offset(frame: bytes, is_flexible_header: bool) -> int:
    """Return where the response body starts (after the correlation id and header tags).

    Raises:
        FrameError: the header's tagged fields are truncated.
    """
    if not is_flexible_header:
        return 4
    try:
        return skip_tagged_fields(frame, 4)
    except (SerialError, ValueError) as error:
        raise FrameError(f"malformed response header: {error}") from error


def skip_tagged_fields(buffer: bytes | memoryview, offset: int) -> int:
    """Return the offset just after a tagged-field section starting at `offset`.

    Raises:
        BufferUnderflow: the section runs past the buffer.
    """
    count, size = read_unsigned_varint(buffer, offset)
    offset += size
    for _ in range(count):
        _, size = read_unsigned_varint(buffer, offset)
        offset += size
        length, size = read_unsigned_varint(buffer, offset)
        offset += size + length
    if offset > len(buffer):
        raise BufferUnderflow("tagged fields run past the end of the frame")
    return offset


def produce_acks(frame: bytes, header: RequestHeader) -> int:
    """Read `acks` from a Produce request of any version, also one kio does not know.

    Only the fields before acks are read, by their layout common to all versions (see
    `FIRST_FLEXIBLE_PRODUCE_VERSION`): a version newer than kio knows is not parsed, but
    whether its sender waits for a response is still known.

    Raises:
        FrameError: the frame ends before acks.
    """
    version = header.api_version
    is_flexible = version >= FIRST_FLEXIBLE_PRODUCE_VERSION
    try:
        offset = header.body_offset
        if offset is None:
            offset = _request_body_offset(frame, is_flexible)
        if version >= _FIRST_PRODUCE_VERSION_WITH_TRANSACTIONAL_ID:
            if is_flexible:
                _, size = read_compact_string_nullable(frame, offset)
            else:
                _, size = read_nullable_legacy_string(frame, offset)
            offset += size
        acks, _ = read_int16(frame, offset)
    except (SerialError, ValueError, UnicodeDecodeError) as error:
        raise FrameError(f"malformed Produce v{version} request: {error}") from error
    return int(acks)


def iter_batches(buffer: bytes | memoryview, start: int, end: int) -> Iterator[BatchHeader]:
    """Yield the complete batches between `start` and `end`; stop at a partial last batch.

    A broker may cut the last batch of a partition's data short; such a tail is not a batch
    and is never read past `end`.
    """
    position = start
    while position + _MAGIC_POSITION + 1 <= end:
        _, length = _ENTRY_HEAD.unpack_from(buffer, position)
        size_bytes = ENTRY_OVERHEAD_BYTES + length
        if length <= 0 or position + size_bytes > end:
            return
        magic = buffer[position + _MAGIC_POSITION]
        yield BatchHeader(size_bytes, magic, _is_control(buffer, position, magic, size_bytes))
        position += size_bytes


def _is_control(buffer: bytes | memoryview, position: int, magic: int, size_bytes: int) -> bool:
    if magic != _MAGIC_V2 or size_bytes < _ATTRIBUTES_POSITION + 2:
        return False
    (attributes,) = _ATTRIBUTES.unpack_from(buffer, position + _ATTRIBUTES_POSITION)
    return bool(attributes & _CONTROL_FLAG)


def data_batch_bytes(buffer: bytes | memoryview, start: int, end: int) -> int:
    """Return the total size of the complete, non-control batches between `start` and `end`.

    >>> batch = bytes(8) + (53).to_bytes(4, "big") + bytes(4) + b"\\x02" + bytes(48)
    >>> data_batch_bytes(batch + batch[:30], 0, len(batch) + 30)
    65
    """
    return sum(b.size_bytes for b in iter_batches(buffer, start, end) if not b.is_control)
