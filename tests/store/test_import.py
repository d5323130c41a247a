"""Importing usage files: one transaction per file, once per file content, bad lines refused."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from chargeback.store import Store, StoreError, UsageTotal
from chargeback.usage import (
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageFileError,
    UsageRecord,
)

HEADER = "timestamp,cluster,service_account,topic,direction,bytes\n"


def write_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def alice_ingress(when: datetime, byte_count: int) -> UsageRecord:
    return UsageRecord(
        ClusterName("prod"), Principal("alice"), TopicName("t"), Direction.INGRESS, when, byte_count
    )


def may_totals(store: Store) -> set[UsageTotal]:
    return set(store.daily_usage("UTC", date(2026, 5, 1), date(2026, 5, 31), None))


def test_a_csv_file_is_imported_with_timestamps_floored_to_their_window(
    store: Store, tmp_path: Path
) -> None:
    # Given
    path = write_file(
        tmp_path,
        "usage.csv",
        HEADER
        + "2026-05-01T10:07:59Z,prod,alice,orders,ingress,100\n"
        + "2026-05-01T12:14:00+02:00,prod,alice,orders,ingress,20\n"
        + '2026-05-02T00:00:00Z,prod,"bob, the builder",orders,egress,5\n',
    )

    # When
    result = store.import_usage_file(path)

    # Then
    assert result.is_new
    assert result.records_read == 3
    assert may_totals(store) == {
        UsageTotal("alice", Direction.INGRESS, date(2026, 5, 1), 120),
        UsageTotal("bob, the builder", Direction.EGRESS, date(2026, 5, 2), 5),
    }


def test_importing_the_same_file_twice_counts_it_once(store: Store, tmp_path: Path) -> None:
    # Given
    path = write_file(
        tmp_path,
        "usage.jsonl",
        '{"timestamp": "2026-05-01T10:00:00Z", "cluster": "prod", '
        '"service_account": "alice", "topic": "t", "direction": "egress", "bytes": 7}\n',
    )
    first = store.import_usage_file(path)

    # When
    second = store.import_usage_file(path)

    # Then
    assert first.batch_id == second.batch_id
    assert (first.is_new, second.is_new) == (True, False)
    assert may_totals(store) == {UsageTotal("alice", Direction.EGRESS, date(2026, 5, 1), 7)}


def test_a_bad_line_late_in_a_file_leaves_nothing_of_the_file_imported(
    store: Store, tmp_path: Path
) -> None:
    # Given more good rows than one write chunk, then a negative byte count
    good_rows = "".join(f"2026-05-01T00:00:00Z,prod,svc-{n},t,ingress,1\n" for n in range(25_000))
    path = write_file(
        tmp_path, "usage.csv", HEADER + good_rows + "2026-05-01T00:00:00Z,prod,x,t,ingress,-3\n"
    )
    store.materialize_zone("UTC")

    # When
    with pytest.raises(UsageFileError) as refused:
        store.import_usage_file(path)

    # Then
    assert refused.value.line_number == 25_002
    assert "not a non-negative integer" in str(refused.value)
    assert may_totals(store) == set()
    assert store.clusters() == []


def test_progress_reports_lines_checked_then_lines_imported_out_of_lines_in_the_file(
    store: Store, tmp_path: Path
) -> None:
    # Given
    rows = "".join(f"2026-05-01T00:00:00Z,prod,svc-{n},t,ingress,1\n" for n in range(45_000))
    path = write_file(tmp_path, "usage.csv", HEADER + rows)
    calls: list[tuple[str, int, int]] = []

    # When
    store.import_usage_file(path, lambda phase, done, total: calls.append((phase, done, total)))

    # Then: records 20,000 and 40,000 are on lines 20,001 and 40,001
    checking = [(done, total) for phase, done, total in calls if phase == "checking"]
    importing = [(done, total) for phase, done, total in calls if phase == "importing"]
    assert [phase for phase, _, _ in calls] == ["checking"] * 2 + ["importing"] * 4
    assert checking == [(20_001, 45_001), (40_001, 45_001)]
    assert importing == [(20_001, 45_001), (40_001, 45_001), (45_001, 45_001), (45_001, 45_001)]


def test_records_imported_as_one_batch_reach_every_materialized_zone(store: Store) -> None:
    # Given
    store.materialize_zone("Asia/Kathmandu")
    records = [
        alice_ingress(datetime(2026, 5, 1, 18, 0, tzinfo=UTC), 1),
        alice_ingress(datetime(2026, 5, 1, 18, 15, tzinfo=UTC), 10),
    ]

    # When
    is_new = store.import_usage(iter(records), "backfill-1")

    # Then
    assert is_new
    assert set(store.daily_usage("Asia/Kathmandu", date(2026, 5, 1), date(2026, 5, 2), None)) == {
        UsageTotal("alice", Direction.INGRESS, date(2026, 5, 1), 1),
        UsageTotal("alice", Direction.INGRESS, date(2026, 5, 2), 10),
    }
    assert store.import_usage(iter(records), "backfill-1") is False


MAX_BYTES = 2**63 - 1
ROWS = [
    "2026-05-01T10:00:00Z,prod,alice,orders,ingress,100",
    "2026-05-01T10:07:00Z,prod,alice,orders,ingress,100",
    "2026-05-02T00:00:00Z,prod,bob,orders,egress,5",
]


@pytest.mark.parametrize(
    "same_records",
    [
        HEADER.replace("\n", "\r\n") + "".join(row + "\r\n" for row in ROWS),
        HEADER + "\n" + "\n".join(ROWS) + "\n\n",
        HEADER + "\n".join(reversed(ROWS)),
        HEADER + ROWS[0] + "\n" + ROWS[1].replace("10:07:00Z", "12:07:00+02:00") + "\n" + ROWS[2],
    ],
    ids=["crlf", "blank-lines", "reordered", "other-offset"],
)
def test_the_same_records_in_another_layout_are_counted_once(
    store: Store, tmp_path: Path, same_records: str
) -> None:
    # Given
    first = store.import_usage_file(write_file(tmp_path, "a.csv", HEADER + "\n".join(ROWS)))

    # When
    again = store.import_usage_file(write_file(tmp_path, "b.csv", same_records))

    # Then
    assert (first.is_new, again.is_new) == (True, False)
    assert again.batch_id == first.batch_id
    assert may_totals(store) == {
        UsageTotal("alice", Direction.INGRESS, date(2026, 5, 1), 200),
        UsageTotal("bob", Direction.EGRESS, date(2026, 5, 2), 5),
    }


def test_the_same_records_as_json_lines_are_counted_once(store: Store, tmp_path: Path) -> None:
    # Given
    store.import_usage_file(write_file(tmp_path, "a.csv", HEADER + "\n".join(ROWS)))
    lines = [dict(zip(HEADER.strip().split(","), row.split(","), strict=True)) for row in ROWS]
    text = "".join(
        json.dumps({**line, "bytes": int(line["bytes"])}) + "\n" for line in reversed(lines)
    )

    # When
    again = store.import_usage_file(write_file(tmp_path, "b.jsonl", text))

    # Then
    assert not again.is_new


@pytest.mark.parametrize(
    ("other_records", "alice_bytes"),
    [
        ([*ROWS, ROWS[0]], 500),  # a row repeated: a file is a multiset of rows
        ([ROWS[0], ROWS[1].replace(",100", ",101"), ROWS[2]], 401),
        ([ROWS[0], ROWS[1].replace("10:07:00Z", "10:08:00Z"), ROWS[2]], 400),
    ],
    ids=["one-row-twice", "other-bytes", "other-instant-same-window"],
)
def test_different_records_are_counted_even_where_they_repeat_earlier_rows(
    store: Store, tmp_path: Path, other_records: list[str], alice_bytes: int
) -> None:
    # Given
    store.import_usage_file(write_file(tmp_path, "a.csv", HEADER + "\n".join(ROWS)))

    # When
    again = store.import_usage_file(
        write_file(tmp_path, "b.csv", HEADER + "\n".join(other_records))
    )

    # Then
    assert again.is_new
    assert again.records_read == len(other_records)
    assert may_totals(store) == {
        UsageTotal("alice", Direction.INGRESS, date(2026, 5, 1), alice_bytes),
        UsageTotal("bob", Direction.EGRESS, date(2026, 5, 2), 10),
    }


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (
            '{"timestamp": "2026-05-01T10:00:00Z", "cluster": "prod", '
            '"service_account": "nul\\u0000x", "topic": "t", "direction": "egress", "bytes": 1}',
            r"service_account 'nul\x00x' holds the control character U+0000",
        ),
        (
            '{"timestamp": "9999-12-31T23:59:59-01:00", "cluster": "prod", '
            '"service_account": "alice", "topic": "t", "direction": "egress", "bytes": 1}',
            "timestamp '9999-12-31T23:59:59-01:00' is not before 9999-01-01T00:00:00Z",
        ),
    ],
    ids=["nul", "year-9999"],
)
def test_a_bad_json_line_is_refused_by_its_number_on_every_database(
    store: Store, tmp_path: Path, bad_row: str, reason: str
) -> None:
    # Given
    good = (
        '{"timestamp": "2026-05-01T10:00:00Z", "cluster": "prod", "service_account": "alice", '
        '"topic": "t", "direction": "egress", "bytes": 7}'
    )
    path = write_file(tmp_path, "usage.jsonl", f"{good}\n{bad_row}\n")

    # When
    with pytest.raises(UsageFileError) as refused:
        store.import_usage_file(path)

    # Then
    assert str(refused.value).startswith(f"{path}, line 2: {reason}")
    assert may_totals(store) == set()


def test_rows_whose_bytes_add_up_past_64_bits_are_refused_at_the_line_that_passes(
    store: Store, tmp_path: Path
) -> None:
    # Given two rows of one key that cannot add up
    full = f"2026-05-03T00:00:00Z,prod,alice,t,ingress,{MAX_BYTES}\n"
    other = "2026-05-01T00:00:00Z,prod,bob,t,ingress,1\n"
    path = write_file(tmp_path, "usage.csv", HEADER + full + other + full)

    # When
    with pytest.raises(UsageFileError) as refused:
        store.import_usage_file(path)

    # Then
    assert str(refused.value) == (
        f"{path}, line 4: the bytes of cluster 'prod', service account 'alice', topic 't', "
        f"ingress, window 2026-05-03T00:00:00+00:00 add up to {2 * MAX_BYTES}, more than "
        f"{MAX_BYTES} (2**63 - 1), the most the store can count"
    )
    assert store.clusters() == []


def test_rows_past_64_bits_in_different_write_chunks_are_refused_naming_the_lines_written(
    store: Store, tmp_path: Path
) -> None:
    # Given the two rows 25,000 rows apart: the first chunk of 20,000 is written by then
    filler = "".join(f"2026-05-01T00:00:00Z,prod,svc-{n},t,ingress,1\n" for n in range(25_000))
    full = f"2026-05-03T00:00:00Z,prod,alice,t,ingress,{MAX_BYTES}\n"
    path = write_file(tmp_path, "usage.csv", HEADER + full + filler + full)

    # When
    with pytest.raises(StoreError) as refused:
        store.import_usage_file(path)

    # Then: the second chunk holds lines 20,002 (header, 20,000 records) to 25,003
    assert str(refused.value).startswith(
        f"{path}, lines 20002 to 25003: the bytes already stored for one cluster, service "
        "account, topic, direction and window plus the new ones would pass 9223372036854775807"
    )
    assert store.clusters() == []


def test_a_file_that_would_take_stored_bytes_past_64_bits_is_refused_naming_its_lines(
    store: Store, tmp_path: Path
) -> None:
    # Given
    store.import_usage_file(
        write_file(
            tmp_path, "a.csv", HEADER + f"2026-05-03T00:00:00Z,prod,alice,t,ingress,{MAX_BYTES}\n"
        )
    )
    path = write_file(
        tmp_path,
        "b.csv",
        HEADER
        + "2026-05-01T00:00:00Z,prod,bob,t,ingress,5\n"
        + "2026-05-03T00:05:00Z,prod,alice,t,ingress,1\n",
    )

    # When
    with pytest.raises(StoreError) as refused:
        store.import_usage_file(path)

    # Then
    assert str(refused.value).startswith(
        f"{path}, lines 2 to 3: the bytes already stored for one cluster, service account, topic, "
        "direction and window plus the new ones would pass 9223372036854775807"
    )
    assert may_totals(store) == {
        UsageTotal("alice", Direction.INGRESS, date(2026, 5, 3), MAX_BYTES)
    }
