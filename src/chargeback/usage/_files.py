"""Reading usage files (spec section 7): CSV with a fixed header, or JSON Lines with its keys.

Files are read line by line, so a file of millions of rows is never held in memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from chargeback.errors import ChargebackError
from chargeback.usage._records import (
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageRecord,
    window_start,
)

USAGE_FILE_FIELDS = ("timestamp", "cluster", "service_account", "topic", "direction", "bytes")
# The largest count a BIGINT column holds; anything above is surely a corrupt row.
MAX_BYTES = 2**63 - 1
_JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Makes the error of the line being read from a reason.
_Fail = Callable[[str], "UsageFileError"]


class UsageFileError(ChargebackError):
    """A usage file cannot be read; the message names the file, the line and the reason."""

    def __init__(self, path: Path, line_number: int, reason: str) -> None:
        super().__init__(f"{path}, line {line_number}: {reason}")
        self.path = path
        self.line_number = line_number
        self.reason = reason


def read_usage_file(path: Path) -> Iterator[tuple[int, UsageRecord]]:
    """Yield (line number, record) for every row of a CSV or JSON Lines usage file.

    JSON Lines is recognised by the suffix (.jsonl, .ndjson, .json) or a first line starting
    with "{". Timestamps are floored to their metering window. Blank lines are skipped.

    Raises:
        UsageFileError: at the first bad line (wrong header, bad JSON, bad timestamp or
            direction, negative or non-integer bytes, missing or unknown field, not UTF-8).
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            if _is_json_lines(path, file):
                yield from _read_json_lines(path, file)
            else:
                yield from _read_csv(path, file)
    except OSError as error:
        raise UsageFileError(path, 0, f"cannot read the file: {error.strerror}") from None


def _is_json_lines(path: Path, file: TextIO) -> bool:
    if path.suffix.lower() in _JSON_LINES_SUFFIXES:
        return True
    if path.suffix.lower() == ".csv":
        return False
    try:
        first_line = file.readline()
    except UnicodeDecodeError:
        raise UsageFileError(path, 1, "the file is not UTF-8 text") from None
    file.seek(0)
    return first_line.lstrip().startswith("{")


def _read_csv(path: Path, file: TextIO) -> Iterator[tuple[int, UsageRecord]]:
    reader = csv.reader(file, strict=True)
    line_number = 1
    try:
        header = next(reader, None)
        if header is None or tuple(cell.strip() for cell in header) != USAGE_FILE_FIELDS:
            raise UsageFileError(
                path, 1, f"the header must be {','.join(USAGE_FILE_FIELDS)}, not {header!r}"
            )
        for row in reader:
            line_number = reader.line_num
            if not row or row == [""]:
                continue
            if len(row) != len(USAGE_FILE_FIELDS):
                raise UsageFileError(
                    path,
                    line_number,
                    f"expected {len(USAGE_FILE_FIELDS)} fields, found {len(row)}",
                )
            fields = dict(zip(USAGE_FILE_FIELDS, row, strict=True))
            yield line_number, _record(path, line_number, fields, bytes_from_text=True)
    except csv.Error as error:
        raise UsageFileError(path, reader.line_num, f"bad CSV: {error}") from None
    except UnicodeDecodeError:
        raise UsageFileError(path, line_number + 1, "the file is not UTF-8 text") from None


def _read_json_lines(path: Path, file: TextIO) -> Iterator[tuple[int, UsageRecord]]:
    line_number = 0
    try:
        for line_number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            yield line_number, _record(path, line_number, _json_object(path, line_number, line))
    except UnicodeDecodeError:
        raise UsageFileError(path, line_number + 1, "the file is not UTF-8 text") from None


def _json_object(path: Path, line_number: int, line: str) -> dict[str, object]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise UsageFileError(path, line_number, f"bad JSON: {error.msg}") from None
    if not isinstance(value, dict):
        raise UsageFileError(path, line_number, "the line is not a JSON object")
    unknown = sorted(set(value) - set(USAGE_FILE_FIELDS))
    if unknown:
        raise UsageFileError(path, line_number, f"unknown field {unknown[0]!r}")
    return value


def _record(
    path: Path, line_number: int, fields: Mapping[str, object], *, bytes_from_text: bool = False
) -> UsageRecord:
    def fail(reason: str) -> UsageFileError:
        return UsageFileError(path, line_number, reason)

    for name in USAGE_FILE_FIELDS:
        if name not in fields:
            raise fail(f"field {name!r} is missing")
    names = {
        name: _name(fields[name], name, fail) for name in ("cluster", "service_account", "topic")
    }
    return UsageRecord(
        cluster=ClusterName(names["cluster"]),
        service_account=Principal(names["service_account"]),
        topic=TopicName(names["topic"]),
        direction=_direction(fields["direction"], fail),
        window_start_utc=window_start(_timestamp(fields["timestamp"], fail)),
        bytes=_byte_count(fields["bytes"], fail, from_text=bytes_from_text),
    )


def _name(value: object, field: str, fail: _Fail) -> str:
    if not isinstance(value, str) or not value:
        raise fail(f"{field} {value!r} is not a non-empty string")
    return value


def _direction(value: object, fail: _Fail) -> Direction:
    if value not in ("ingress", "egress"):
        raise fail(f"direction {value!r} is neither 'ingress' nor 'egress'")
    return Direction(value)


def _timestamp(value: object, fail: _Fail) -> datetime:
    if not isinstance(value, str):
        raise fail(f"timestamp {value!r} is not an ISO 8601 string")
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(f"timestamp {value!r} is not ISO 8601") from None
    if instant.tzinfo is None:
        raise fail(f"timestamp {value!r} has no UTC offset (end it with Z or +hh:mm)")
    if instant < _EPOCH:
        raise fail(f"timestamp {value!r} is before 1970")
    return instant


def _byte_count(value: object, fail: _Fail, *, from_text: bool) -> int:
    if from_text and isinstance(value, str):
        text = value.strip()
        if not text.isdecimal() or not text.isascii():
            raise fail(f"bytes {value!r} is not a non-negative integer")
        value = int(text)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise fail(f"bytes {value!r} is not a non-negative integer")
    if value > MAX_BYTES:
        raise fail(f"bytes {value} is larger than {MAX_BYTES}")
    return value
