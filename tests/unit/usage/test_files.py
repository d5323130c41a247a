"""Reading usage files: CSV and JSON Lines, each bad line refused with its number and reason."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chargeback.usage import (
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageFileDigest,
    UsageFileError,
    UsageRecord,
    digest_usage_file,
    read_usage_file,
)

HEADER = "timestamp,cluster,service_account,topic,direction,bytes\n"


def csv_file(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "usage.csv"
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def jsonl_file(tmp_path: Path, *lines: str, name: str = "usage.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def row(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "timestamp": "2026-05-01T10:00:00Z",
        "cluster": "prod",
        "service_account": "alice",
        "topic": "orders",
        "direction": "ingress",
        "bytes": 100,
    }
    fields.update(changes)
    return fields


def with_raw_json(field: str, json_text: str) -> str:
    """A JSON line of `row()` whose `field` is `json_text`, written as it is."""
    return json.dumps(row(**{field: "RAW"})).replace('"RAW"', json_text)


def test_csv_rows_become_records_with_their_line_numbers(tmp_path: Path) -> None:
    # Given
    path = csv_file(
        tmp_path,
        "2026-05-01T10:14:59.9+00:00,prod,alice,orders,ingress,100",
        "",
        '2026-05-01T12:00:00+05:45,"dev, eu","ç=@+",t,egress,0',
    )

    # When
    records = list(read_usage_file(path))

    # Then
    assert records == [
        (
            2,
            UsageRecord(
                ClusterName("prod"),
                Principal("alice"),
                TopicName("orders"),
                Direction.INGRESS,
                datetime(2026, 5, 1, 10, 0, tzinfo=UTC),
                100,
            ),
        ),
        (
            4,
            UsageRecord(
                ClusterName("dev, eu"),
                Principal("ç=@+"),
                TopicName("t"),
                Direction.EGRESS,
                datetime(2026, 5, 1, 6, 15, tzinfo=UTC),
                0,
            ),
        ),
    ]


def test_json_lines_become_records(tmp_path: Path) -> None:
    # Given
    path = jsonl_file(tmp_path, json.dumps(row(timestamp="2026-05-01T10:29:00-03:30")))

    # When
    records = list(read_usage_file(path))

    # Then
    assert [(n, r.window_start_utc, r.bytes) for n, r in records] == [
        (1, datetime(2026, 5, 1, 13, 45, tzinfo=UTC), 100)
    ]


def test_json_lines_are_recognised_by_content_without_a_known_suffix(tmp_path: Path) -> None:
    # Given
    path = jsonl_file(tmp_path, json.dumps(row()), name="usage.log")

    # When
    records = list(read_usage_file(path))

    # Then
    assert len(records) == 1


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("2026-05-01T10:00:00,prod,alice,t,ingress,1", "has no UTC offset"),
        ("yesterday,prod,alice,t,ingress,1", "timestamp 'yesterday' is not ISO 8601"),
        ("1969-12-31T23:00:00Z,prod,alice,t,ingress,1", "is before 1970"),
        ("2026-05-01T10:00:00Z,prod,alice,t,INGRESS,1", "direction 'INGRESS' is neither"),
        ("2026-05-01T10:00:00Z,prod,alice,t,ingress,-5", "bytes '-5' is not a non-negative"),
        ("2026-05-01T10:00:00Z,prod,alice,t,ingress,1.5", "bytes '1.5' is not a non-negative"),
        ("2026-05-01T10:00:00Z,prod,alice,t,ingress,", "bytes '' is not a non-negative"),
        ("2026-05-01T10:00:00Z,prod,,t,ingress,1", "service_account '' is not a non-empty"),
        ("2026-05-01T10:00:00Z,prod,alice,t,ingress", "expected 6 fields, found 5"),
        (f"2026-05-01T10:00:00Z,prod,alice,t,ingress,{2**63}", "is larger than"),
        ("9999-12-31T12:00:00Z,prod,alice,t,ingress,1", "is not before 9999-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59-01:00,p,a,t,ingress,1", "is not before 9999-01-01T00:00:00Z"),
        (
            "2026-05-01T10:00:00Z,prod,a\tb,t,ingress,1",
            r"'a\\tb' holds the control character U\+0009",
        ),
        ("2026-05-01T10:00:00Z,p\x7f,a,t,ingress,1", r"cluster 'p\\x7f' holds the control char"),
        ("2026-05-01T10:00:00Z,p,a,t\x9b,ingress,1", r"topic 't\\x9b' holds the control character"),
        (
            "2026-05-01T10:00:00Z,p,\u202eevil,t,ingress,1",
            r"service_account '\\u202eevil' holds the format character U\+202E "
            r"\(RIGHT-TO-LEFT OVERRIDE\)",
        ),
        ("2026-05-01T10:00:00Z,p,a\u200bb,t,ingress,1", r"holds the format character U\+200B"),
        ("2026-05-01T10:00:00Z,p,\ufeffa,t,ingress,1", r"holds the format character U\+FEFF"),
        ("2026-05-01T10:00:00Z,p,a,t\u2028,ingress,1", r"holds the line separator U\+2028"),
        ("2026-05-01T10:00:00Z,p\u2029,a,t,ingress,1", r"holds the paragraph separator U\+2029"),
        ("2026-05-01T10:00:00Z,p,a\ufdd0,t,ingress,1", r"holds the noncharacter U\+FDD0"),
        # bytes are digits 0-9 only, taken exactly as direction is
        ("2026-05-01T10:00:00Z,prod,alice,t,ingress, 12 ", r"bytes ' 12 ' is not a non-negative"),
        ("2026-05-01T10:00:00Z,prod,alice,t,ingress,12 ", r"bytes '12 ' is not a non-negative"),
        ("2026-05-01T10:00:00Z,prod,alice,t,ingress,+13", r"bytes '\+13' is not a non-negative"),
        ("2026-05-01T10:00:00Z,prod,alice,t,ingress,\u0661\u0662", "is not a non-negative"),
        ("2026-05-01T10:00:00Z,prod,alice,t,ingress,1_000", "no sign, spaces or separators"),
        (
            "2026-05-01T10:00:00Z,prod,alice,t,ingress,1" + "0" * 5000,
            f"bytes \\(an integer of 5001 digits\\) is larger than {2**63 - 1}$",
        ),
    ],
)
def test_a_bad_csv_row_is_refused_with_its_line_number(
    tmp_path: Path, bad_row: str, reason: str
) -> None:
    # Given
    path = csv_file(tmp_path, "2026-05-01T10:00:00Z,prod,alice,t,ingress,1", bad_row)

    # When
    with pytest.raises(UsageFileError, match=reason) as refused:
        list(read_usage_file(path))

    # Then
    assert refused.value.line_number == 3
    assert str(refused.value).startswith(f"{path}, line 3: ")


@pytest.mark.parametrize(
    "header",
    ["timestamp,cluster,account,topic,direction,bytes\n", "", "bytes,timestamp\n"],
)
def test_a_wrong_csv_header_is_refused_on_line_1(tmp_path: Path, header: str) -> None:
    # Given
    path = csv_file(tmp_path, header=header)

    # When
    with pytest.raises(UsageFileError, match="the header must be") as refused:
        list(read_usage_file(path))

    # Then
    assert refused.value.line_number == 1


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "bad JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps(row(bytes=1.0)), "bytes 1.0 is not a non-negative integer"),
        (json.dumps(row(bytes="7")), "bytes '7' is not a non-negative integer"),
        (json.dumps(row(bytes=True)), "bytes True is not a non-negative integer"),
        (json.dumps(row(direction="both")), "direction 'both' is neither"),
        (json.dumps(row(timestamp=1714557600)), "is not an ISO 8601 string"),
        (json.dumps(row(cluster=None)), "cluster None is not a non-empty string"),
        (json.dumps(row(extra=1)), "unknown field 'extra'"),
        (json.dumps({k: v for k, v in row().items() if k != "topic"}), "'topic' is missing"),
        (json.dumps(row(service_account="nul\x00x")), r"'nul\\x00x' holds the control character"),
        (json.dumps(row(cluster="\ud800")), r"cluster '\\ud800' holds the lone surrogate U\+D800"),
        (json.dumps(row(timestamp="9999-12-31T23:59:59-01:00")), "is not before 9999-01-01"),
        (json.dumps(row(topic="t\u202e")), r"topic 't\\u202e' holds the format character"),
        (
            with_raw_json("bytes", "1" + "0" * 5000),
            f"bytes \\(an integer of 5001 digits\\) is larger than {2**63 - 1}$",
        ),
        (with_raw_json("cluster", "-1" + "0" * 5000), "cluster <an integer of 5001 digits> is"),
        (
            with_raw_json("bytes", "1" + "0" * 30),
            f"bytes \\(an integer of 31 digits\\) is larger than {2**63 - 1}$",
        ),
        (with_raw_json("bytes", "[" * 100_000 + "]" * 100_000), "bad JSON: values nested too"),
        (json.dumps(row())[:-1] + ', "bytes": 7}', "field 'bytes' is given twice"),
        (with_raw_json("topic", '{"a": 1, "a": 2}'), "field 'a' is given twice"),
    ],
)
def test_a_bad_json_line_is_refused_with_its_line_number(
    tmp_path: Path, line: str, reason: str
) -> None:
    # Given
    path = jsonl_file(tmp_path, json.dumps(row()), "", line)

    # When
    with pytest.raises(UsageFileError, match=reason) as refused:
        list(read_usage_file(path))

    # Then
    assert refused.value.line_number == 3


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "usage.csv"
    path.write_bytes(HEADER.encode() + b"2026-05-01T10:00:00Z,prod,\xff\xfe,t,ingress,1\n")

    # When
    with pytest.raises(UsageFileError, match="not UTF-8"):
        list(read_usage_file(path))


@pytest.mark.parametrize(
    ("path_name", "first_line"),
    [("usage.jsonl", json.dumps(row()).encode()), ("usage.csv", HEADER.encode().rstrip())],
)
def test_a_line_that_is_not_utf8_is_refused_with_its_own_number(
    tmp_path: Path, path_name: str, first_line: bytes
) -> None:
    # Given a bad byte on line 2, well within the block a text file would decode at once
    path = tmp_path / path_name
    path.write_bytes(first_line + b"\n\xff\n")

    # When
    with pytest.raises(UsageFileError) as refused:
        list(read_usage_file(path))

    # Then
    assert str(refused.value) == f"{path}, line 2: the line is not UTF-8 text"


def test_lines_may_end_with_a_lone_carriage_return(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "usage.csv"
    rows = ["2026-05-01T10:00:00Z,p,a,t,egress,3", "2026-05-01T10:00:00Z,p,a,t,egress,4"]
    path.write_bytes("\r".join([HEADER.rstrip(), *rows]).encode() + b"\r\n")

    # When
    records = list(read_usage_file(path))

    # Then
    assert [(line, record.bytes) for line, record in records] == [(2, 3), (3, 4)]


def test_a_missing_file_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(UsageFileError, match="cannot read the file"):
        list(read_usage_file(tmp_path / "nope.csv"))


def test_a_utf8_byte_order_mark_before_the_header_is_accepted(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "usage.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"2026-05-01T10:00:00Z,p,a,t,egress,3\n")

    # When
    records = list(read_usage_file(path))

    # Then
    assert [record.bytes for _, record in records] == [3]


def test_a_files_digest_is_the_sum_of_the_sha256_of_its_canonical_rows(tmp_path: Path) -> None:
    # Given two rows; the first at 12:07:30.5 +02:00, i.e. 10:07:30.5 UTC
    path = csv_file(
        tmp_path,
        "2026-05-01T12:07:30.5+02:00,prod,alice,orders,ingress,100",
        "2026-05-02T00:00:00Z,prod,bob,orders,egress,5",
    )
    canonical_rows = [
        "1777630050500000\x00prod\x00alice\x00orders\x00ingress\x00100",
        "1777680000000000\x00prod\x00bob\x00orders\x00egress\x005",
    ]
    expected = (
        sum(int(hashlib.sha256(text.encode()).hexdigest(), 16) for text in canonical_rows) % 2**256
    )

    # When
    digest = digest_usage_file(path)

    # Then
    assert digest == UsageFileDigest(f"{expected:064x}", record_count=2, last_line=3)


def test_a_files_digest_ignores_the_order_of_rows_but_counts_repeats(tmp_path: Path) -> None:
    # Given
    rows = ["2026-05-01T10:00:00Z,p,a,t,ingress,1", "2026-05-01T11:00:00Z,p,a,t,ingress,1"]
    first = digest_usage_file(csv_file(tmp_path, *rows))

    # When
    reordered = digest_usage_file(csv_file(tmp_path, *reversed(rows)))
    repeated = digest_usage_file(csv_file(tmp_path, *rows, rows[0]))

    # Then
    assert reordered.records_sha256_sum == first.records_sha256_sum
    assert repeated.records_sha256_sum != first.records_sha256_sum
