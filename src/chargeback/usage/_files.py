"""Reading usage files (spec section 7): CSV with a fixed header, or JSON Lines with its keys.

Files are read line by line, so a file of millions of rows is never held in memory.
`digest_usage_file` names a file's content by its records, so that a file saved again with
another layout (line ends, blank lines, row order, offsets) is still the same usage.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from chargeback.errors import ChargebackError
from chargeback.usage._records import (
    MAX_BYTES,
    USAGE_ENDS_BEFORE_UTC,
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageRecord,
    name_fault,
    window_start,
)

USAGE_FILE_FIELDS = ("timestamp", "cluster", "service_account", "topic", "direction", "bytes")
_JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# The records' digests are added modulo 2**256: the sum does not depend on their order.
_DIGEST_MODULUS = 2**256
# No count has more digits than the largest; int() of 4,300 digits or more raises.
_MAX_BYTES_DIGITS = len(str(MAX_BYTES))
# How often (in records) digest_usage_file reports progress.
_PROGRESS_EVERY_RECORDS = 20_000

# Makes the error of the line being read from a reason.
_Fail = Callable[[str], "UsageFileError"]


class UsageFileError(ChargebackError):
    """A usage file cannot be read; the message names the file, the line and the reason."""

    def __init__(self, path: Path, line_number: int, reason: str) -> None:
        super().__init__(f"{path}, line {line_number}: {reason}")
        self.path = path
        self.line_number = line_number
        self.reason = reason


@dataclass(frozen=True, slots=True)
class UsageFileDigest:
    """What a usage file says, independent of its layout; see `digest_usage_file`.

    `records_sha256_sum` is 64 hex digits; `last_line` is the line number of the last record.
    """

    records_sha256_sum: str
    record_count: int
    last_line: int


# One row of a file: its line number, its exact instant (UTC) and its record.
_Row = tuple[int, datetime, UsageRecord]


def read_usage_file(path: Path) -> Iterator[tuple[int, UsageRecord]]:
    """Yield (line number, record) for every row of a CSV or JSON Lines usage file.

    JSON Lines is recognised by the suffix (.jsonl, .ndjson, .json) or a first line starting
    with "{". Timestamps are floored to their metering window. Blank lines are skipped.

    Raises:
        UsageFileError: at the first bad line (wrong header, bad JSON, bad timestamp or
            direction, negative or non-integer bytes, a name that is empty or holds a control
            character, missing or unknown field, not UTF-8).
    """
    for line_number, _instant, record in _read_rows(path):
        yield line_number, record


def digest_usage_file(path: Path, progress: Callable[[int], None] | None = None) -> UsageFileDigest:
    """Read and check the whole file; name its content by its records, not by its bytes.

    Each row becomes one canonical line: the exact instant in microseconds since 1970 (UTC),
    cluster, service account, topic, direction and bytes, joined by NUL (which no name may
    hold). The digest is the sum, modulo 2**256, of the SHA-256 of every such line: the same
    rows give the same digest whatever the line ends, blank lines, row order or UTC offsets
    of the file, while a row added, removed, repeated or changed gives another one.
    `progress` is called with the line number reached, every 20,000 records.

    Raises:
        UsageFileError: as `read_usage_file`.
    """
    digest_sum = 0
    record_count = 0
    last_line = 0
    for last_line, instant, record in _read_rows(path):
        canonical = "\0".join(
            (
                str((instant - _EPOCH) // _MICROSECOND),
                record.cluster,
                record.service_account,
                record.topic,
                record.direction.value,
                str(record.bytes),
            )
        )
        digest_sum += int.from_bytes(hashlib.sha256(canonical.encode("utf-8")).digest())
        record_count += 1
        if progress is not None and record_count % _PROGRESS_EVERY_RECORDS == 0:
            progress(last_line)
    return UsageFileDigest(f"{digest_sum % _DIGEST_MODULUS:064x}", record_count, last_line)


def _read_rows(path: Path) -> Iterator[_Row]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            if _is_json_lines(path, file):
                yield from _read_json_lines(path, file)
            else:
                yield from _read_csv(path, file)
    except UnicodeDecodeError:
        line_number = _first_line_not_utf8(path)
        raise UsageFileError(path, line_number, "the line is not UTF-8 text") from None
    except OSError as error:
        raise UsageFileError(path, 0, f"cannot read the file: {error.strerror}") from None


def _first_line_not_utf8(path: Path) -> int:
    """The number of the first line of `path` that is not UTF-8.

    A text file decodes blocks ahead of the line being read, so its error names no line:
    the file is read again, line by line (lines end at LF, CRLF or a lone CR, as in a text
    file opened with newline=""), only once it failed.
    """
    line_number = 0
    with path.open("rb") as file:
        for block in file:
            for line in block.splitlines() if b"\r" in block else (block,):
                line_number += 1
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return line_number
    return line_number


def _is_json_lines(path: Path, file: TextIO) -> bool:
    if path.suffix.lower() in _JSON_LINES_SUFFIXES:
        return True
    if path.suffix.lower() == ".csv":
        return False
    first_line = file.readline()
    file.seek(0)
    return first_line.lstrip().startswith("{")


def _read_csv(path: Path, file: TextIO) -> Iterator[_Row]:
    reader = csv.reader(file, strict=True)
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
            yield _row(path, line_number, fields, bytes_from_text=True)
    except csv.Error as error:
        raise UsageFileError(path, reader.line_num, f"bad CSV: {error}") from None


def _read_json_lines(path: Path, file: TextIO) -> Iterator[_Row]:
    for line_number, line in enumerate(file, start=1):
        if not line.strip():
            continue
        yield _row(path, line_number, _json_object(path, line_number, line))


def _json_object(path: Path, line_number: int, line: str) -> dict[str, object]:
    try:
        value = _parse_json(line)
    except json.JSONDecodeError as error:
        raise UsageFileError(path, line_number, f"bad JSON: {error.msg}") from None
    except _RepeatedKeyError as error:
        raise UsageFileError(path, line_number, f"field {error.key!r} is given twice") from None
    except RecursionError:
        raise UsageFileError(path, line_number, "bad JSON: values nested too deeply") from None
    if not isinstance(value, dict):
        raise UsageFileError(path, line_number, "the line is not a JSON object")
    unknown = sorted(set(value) - set(USAGE_FILE_FIELDS))
    if unknown:
        raise UsageFileError(path, line_number, f"unknown field {unknown[0]!r}")
    return value


def _parse_json(line: str) -> object:
    """The JSON value of `line`; a key given twice is refused, not overwritten.

    Raises:
        json.JSONDecodeError: not JSON.
        _RepeatedKeyError: an object gives a key twice.
        RecursionError: values nested too deeply.
    """
    try:
        return json.loads(line, object_pairs_hook=_without_repeats)
    except json.JSONDecodeError:
        raise
    except ValueError:
        # int() refused a number of 4,300 digits or more. Read it again, keeping such numbers
        # as their length (only now: a hook for every number slows down every line).
        return json.loads(line, parse_int=_json_integer, object_pairs_hook=_without_repeats)


class _RepeatedKeyError(Exception):
    """A JSON object names a key twice (json.loads would keep the last value, silently)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _without_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object's pairs as a dict; a key given twice is refused, not overwritten."""
    value = dict(pairs)
    if len(value) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKeyError(key)
            seen.add(key)
    return value


@dataclass(frozen=True, slots=True)
class _LongInteger:
    """A JSON integer with more digits than any count: int() refuses 4,300 digits and more."""

    digits: int

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


def _json_integer(text: str) -> int | _LongInteger:
    """A JSON integer (JSON allows no leading zeros, so its digits tell its size)."""
    digits = len(text.lstrip("-"))
    return _LongInteger(digits) if digits > _MAX_BYTES_DIGITS else int(text)


def _row(
    path: Path, line_number: int, fields: Mapping[str, object], *, bytes_from_text: bool = False
) -> _Row:
    def fail(reason: str) -> UsageFileError:
        return UsageFileError(path, line_number, reason)

    for name in USAGE_FILE_FIELDS:
        if name not in fields:
            raise fail(f"field {name!r} is missing")
    names = {
        name: _name(fields[name], name, fail) for name in ("cluster", "service_account", "topic")
    }
    instant = _timestamp(fields["timestamp"], fail)
    record = UsageRecord(
        cluster=ClusterName(names["cluster"]),
        service_account=Principal(names["service_account"]),
        topic=TopicName(names["topic"]),
        direction=_direction(fields["direction"], fail),
        window_start_utc=window_start(instant),
        bytes=_byte_count(fields["bytes"], fail, from_text=bytes_from_text),
    )
    return line_number, instant, record


def _name(value: object, field: str, fail: _Fail) -> str:
    fault = name_fault(value)
    if fault is not None:
        raise fail(f"{field} {value!r} {fault}")
    assert isinstance(value, str)  # name_fault refuses anything else
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
    if instant >= USAGE_ENDS_BEFORE_UTC:
        raise fail(
            f"timestamp {value!r} is not before {USAGE_ENDS_BEFORE_UTC:%Y-%m-%dT%H:%M:%SZ}"
            " (the latest usage the store keeps)"
        )
    return instant


def _byte_count(value: object, fail: _Fail, *, from_text: bool) -> int:
    if isinstance(value, _LongInteger):
        raise fail(f"bytes (an integer of {value.digits} digits) is larger than {MAX_BYTES}")
    if from_text and isinstance(value, str):
        value = _byte_count_from_text(value, fail)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise fail(f"bytes {value!r} is not a non-negative integer")
    if value > MAX_BYTES:
        shown = str(value)
        if len(shown) > _MAX_BYTES_DIGITS:
            shown = f"(an integer of {len(shown)} digits)"
        raise fail(f"bytes {shown} is larger than {MAX_BYTES}")
    return value


def _byte_count_from_text(text: str, fail: _Fail) -> int:
    """ASCII digits only, as `direction` is taken exactly: no sign, spaces or separators."""
    # isdigit() alone takes other scripts' digits and superscripts; ASCII ones are 0-9.
    if not (text.isascii() and text.isdigit()):
        raise fail(
            f"bytes {text!r} is not a non-negative integer (write only the digits 0-9: "
            "no sign, spaces or separators)"
        )
    if len(text) > _MAX_BYTES_DIGITS:  # int() refuses 4,300 digits, leading zeros included
        text = text.lstrip("0") or "0"
        if len(text) > _MAX_BYTES_DIGITS:
            raise fail(f"bytes (an integer of {len(text)} digits) is larger than {MAX_BYTES}")
    return int(text)
