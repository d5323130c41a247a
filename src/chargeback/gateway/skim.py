"""Read a kio message while leaving its record sets in place.

kio's entity readers copy every `records` field into a new bytes object. Produce requests and
Fetch responses are mostly record data, so the meters walk them with `skim_reader`: it follows
kio's own schema classes (field order, types, flexible versions, tagged fields), reads every
other field with kio's native readers, and returns a record set as a `RecordSpan` (start and
end offsets into the frame). No message layout is written by hand here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, dataclass, fields
from functools import cache
from typing import Any

from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    classify_field,
    get_field_tag,
)
from kio.serial._parse import get_field_reader
from kio.serial.errors import BufferUnderflow
from kio.serial.readers import (
    read_compact_array_length,
    read_int32,
    read_legacy_array_length,
    read_unsigned_varint,
)
from kio.static.protocol import Entity

Skimmed = dict[str, Any]
"""A message as field name -> value; nested entities are Skimmed too, record sets RecordSpan."""

_Step = Callable[[memoryview, int], tuple[Any, int]]


@dataclass(frozen=True, slots=True)
class RecordSpan:
    """Where a record set lies in the frame: bytes `start` up to (excluding) `end`."""

    start: int
    end: int


def skim(entity_type: type[Entity], buffer: bytes | memoryview, offset: int) -> Skimmed:
    """Read one `entity_type` message from `buffer` at `offset`, record sets as spans.

    Raises:
        BufferUnderflow, ValueError: the buffer does not hold such a message.
    """
    value, _ = skim_reader(entity_type)(memoryview(buffer), offset)
    result: Skimmed = value
    return result


@cache
def skim_reader(entity_type: type[Entity]) -> _Step:
    """Return a reader for `entity_type` that keeps record sets in place (cached per type)."""
    flexible = bool(entity_type.__flexible__)
    plain: list[tuple[str, _Step]] = []
    tagged: dict[int, tuple[str, _Step]] = {}
    for field in fields(entity_type):
        tag = get_field_tag(field)
        if tag is None:
            plain.append((field.name, _field_step(entity_type, field, flexible)))
        else:
            tagged[int(tag)] = (field.name, get_field_reader(entity_type, field, False, True))

    def read(buffer: memoryview, offset: int) -> tuple[Skimmed, int]:
        start = offset
        result: Skimmed = {}
        for name, step in plain:
            result[name], size = step(buffer, offset)
            offset += size
        if flexible:
            offset = _read_tagged(buffer, offset, tagged, result)
        return result, offset - start

    return read


def _field_step(entity_type: type[Entity], field: Field[Any], flexible: bool) -> _Step:
    if field.metadata.get("kafka_type") == "records":
        return _compact_records if flexible else _legacy_records
    kind = classify_field(field)
    if isinstance(kind, EntityField | EntityTupleField) and _holds_records(kind.type_):
        nested = skim_reader(kind.type_)
        if isinstance(kind, EntityField):
            return nested
        return _array_step(nested, flexible)
    return get_field_reader(entity_type, field, False, False)


@cache
def _holds_records(entity_type: type[Entity]) -> bool:
    for field in fields(entity_type):
        if field.metadata.get("kafka_type") == "records":
            return True
        kind = classify_field(field)
        if isinstance(kind, EntityField | EntityTupleField) and _holds_records(kind.type_):
            return True
    return False


def _array_step(item: _Step, flexible: bool) -> _Step:
    def read(buffer: memoryview, offset: int) -> tuple[list[Any] | None, int]:
        start = offset
        if flexible:
            count, size = read_compact_array_length(buffer, offset)
        else:
            count, size = read_legacy_array_length(buffer, offset)
        offset += size
        if count is None or count < 0:
            return None, offset - start
        items = []
        for _ in range(count):
            value, size = item(buffer, offset)
            items.append(value)
            offset += size
        return items, offset - start

    return read


def _compact_records(buffer: memoryview, offset: int) -> tuple[RecordSpan | None, int]:
    length_plus_one, size = read_unsigned_varint(buffer, offset)
    if length_plus_one == 0:
        return None, size
    return _span(buffer, offset + size, length_plus_one - 1, size)


def _legacy_records(buffer: memoryview, offset: int) -> tuple[RecordSpan | None, int]:
    length, size = read_int32(buffer, offset)
    if length < 0:
        return None, size
    return _span(buffer, offset + size, length, size)


def _span(buffer: memoryview, start: int, length: int, prefix: int) -> tuple[RecordSpan, int]:
    if start + length > len(buffer):
        raise BufferUnderflow(f"record set of {length} bytes runs past the end of the frame")
    return RecordSpan(start, start + length), prefix + length


def _read_tagged(
    buffer: memoryview, offset: int, known: dict[int, tuple[str, _Step]], result: Skimmed
) -> int:
    count, size = read_unsigned_varint(buffer, offset)
    offset += size
    for _ in range(count):
        tag, size = read_unsigned_varint(buffer, offset)
        offset += size
        length, size = read_unsigned_varint(buffer, offset)
        offset += size
        if tag in known:
            name, step = known[tag]
            result[name], _ = step(buffer, offset)
        offset += length
    if offset > len(buffer):
        raise BufferUnderflow("tagged fields run past the end of the frame")
    return offset
