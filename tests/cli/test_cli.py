"""The `chargeback` command, in-process with Typer's CliRunner."""

import json
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from tests.cli.conftest import Invoke

USAGE_CSV = (
    "timestamp,cluster,service_account,topic,direction,bytes\n"
    "2026-03-09T10:00:00Z,east,payments,orders,ingress,1500000000\n"
    "2026-03-09T10:05:00Z,west,payments,orders,ingress,500000000\n"
    '2026-03-10T04:00:00+05:45,east,"search, team",clicks,egress,3000000000\n'
    "2026-03-01T00:00:00Z,east,=cmd,clicks,egress,7\n"
)


@pytest.fixture
def usage_file(tmp_path: Path) -> Path:
    path = tmp_path / "usage.csv"
    path.write_text(USAGE_CSV, encoding="utf-8")
    return path


def test_pricing_set_changes_only_the_given_prices_and_show_prints_them(invoke: Invoke) -> None:
    # Given
    invoke("pricing", "set", "--ingress-per-gb", "0.12345678", "--currency", "eur")

    # When
    result = invoke("pricing", "set", "--egress-per-gb", "0.05", "--gb-size", "binary")

    # Then
    shown = invoke("pricing", "show")
    assert result.exit_code == 0, result.output
    for text in ("0.12345678 EUR", "0.05 EUR", "binary: 1 GB = 1,073,741,824 bytes"):
        assert text in shown.stdout


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--ingress-per-gb", "-1", "ingress price per GB -1 is negative"),
        ("--egress-per-gb", "0.123456789", "more than 8 decimal places"),
        ("--egress-per-gb", "cheap", "egress price per GB 'cheap' is not a number"),
        ("--currency", "XYZ", "currency 'XYZ' is not a supported ISO 4217 code"),
        ("--gb-size", "huge", "GB size 'huge' is neither 'decimal' nor 'binary'"),
        ("--ingress-per-gb", "1e400", "ingress price per GB '1e400' is not a plain decimal"),
        ("--egress-per-gb", "1000001", "egress price per GB 1000001 is more than 1000000"),
    ],
)
def test_pricing_set_refuses_bad_values_and_keeps_the_old_prices(
    invoke: Invoke, option: str, value: str, message: str
) -> None:
    # Given
    invoke("pricing", "set", "--ingress-per-gb", "0.1")

    # When
    result = invoke("pricing", "set", option, value)

    # Then
    assert result.exit_code == 1
    assert result.stderr == f"error: {message}\n" or message in result.stderr
    assert "Traceback" not in result.output
    assert "0.1 USD" in invoke("pricing", "show").stdout


@pytest.mark.parametrize("value", [" 0.1", "+1", "-0", "\u0660.\u0661"])
def test_pricing_set_refuses_a_price_with_a_sign_spaces_or_other_digits(
    invoke: Invoke, value: str
) -> None:
    # Given
    invoke("pricing", "set", "--ingress-per-gb", "0.1")

    # When
    result = invoke("pricing", "set", f"--egress-per-gb={value}")

    # Then
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: egress price per GB {value!r} is not a plain decimal number: write it out in "
        "the digits 0-9 with an optional '.', e.g. 0.001 (no sign, spaces, exponent or "
        "separators)\n"
    )
    assert "0.1 USD" in invoke("pricing", "show").stdout


def test_pricing_set_without_any_option_is_a_usage_error(invoke: Invoke) -> None:
    # When
    result = invoke("pricing", "set")

    # Then
    assert result.exit_code == 2
    assert "give at least one of --ingress-per-gb" in result.stderr


def test_imported_usage_shows_in_the_json_report_with_exact_values(
    invoke: Invoke, usage_file: Path
) -> None:
    # Given
    invoke("pricing", "set", "--ingress-per-gb", "0.1", "--egress-per-gb", "0.03")
    imported = invoke("usage", "import", str(usage_file))

    # When
    result = invoke(
        "report", "--tab", "overall", "--period", "7D", "--as-of", "2026-03-10", "--format", "json"
    )

    # Then: payments 2 GB × 0.1 on 9 Mar; "search, team" 3 GB × 0.03 on 9 Mar (22:15 UTC)
    assert imported.exit_code == 0, imported.output
    assert "imported 4 usage rows" in imported.stdout
    data = json.loads(result.stdout)
    assert [bucket["label"] for bucket in data["buckets"][-2:]] == ["2026-03-09", "2026-03-10"]
    rows = {row["service_account"]: row for row in data["rows"]}
    assert set(rows) == {"payments", "search, team"}
    assert [Decimal(cell) for cell in rows["payments"]["cells"][-2:]] == [Decimal("0.2"), 0]
    assert Decimal(rows["search, team"]["total"]) == Decimal("0.09")
    assert Decimal(data["grand_total"]) == Decimal("0.29")
    assert data["unit"] == "USD"


def test_importing_the_same_file_twice_counts_it_once(invoke: Invoke, usage_file: Path) -> None:
    # Given
    invoke("usage", "import", str(usage_file))

    # When
    again = invoke("usage", "import", str(usage_file))

    # Then
    report = invoke(
        "report", "--tab", "ingress", "--metric", "bytes", "--period", "7D",
        "--as-of", "2026-03-10", "--format", "json",
    )  # fmt: skip
    assert again.exit_code == 0
    assert (
        again.stdout
        == f"{usage_file}: already imported (the same records): nothing counted again\n"
    )
    assert json.loads(report.stdout)["grand_total"] == 2_000_000_000


def test_a_bad_row_is_refused_with_its_line_number_and_nothing_is_imported(
    invoke: Invoke, tmp_path: Path
) -> None:
    # Given: line 3 has negative bytes
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,cluster,service_account,topic,direction,bytes\n"
        "2026-03-09T10:00:00Z,east,payments,orders,ingress,100\n"
        "2026-03-09T10:00:00Z,east,payments,orders,ingress,-5\n",
        encoding="utf-8",
    )

    # When
    result = invoke("usage", "import", str(path))

    # Then
    report = invoke(
        "report", "--tab", "ingress", "--metric", "bytes", "--period", "7D",
        "--as-of", "2026-03-10", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "line 3" in result.stderr
    assert "Traceback" not in result.output
    assert json.loads(report.stdout)["rows"] == []


def test_report_csv_and_the_exported_file_are_byte_identical(
    invoke: Invoke, usage_file: Path, tmp_path: Path
) -> None:
    # Given
    invoke("usage", "import", str(usage_file))
    selection = [
        "--tab",
        "egress",
        "--period",
        "30D",
        "--as-of",
        "2026-03-10",
        "--sort",
        "total:asc",
    ]
    out = tmp_path / "out"
    out.mkdir()

    # When
    printed = invoke("report", *selection, "--metric", "percentage", "--format", "csv")
    exported = invoke("export", *selection, "--output", str(out))

    # Then: bytes whatever the metric, formula defused, quoted comma, CRLF
    path = out / "Chargeback_2026-02-09_2026-03-10_Egress.csv"
    assert exported.exit_code == 0, exported.output
    assert exported.stdout == f"{path}\n"
    assert path.read_bytes() == printed.stdout_bytes
    lines = path.read_bytes().split(b"\r\n")
    assert lines[1] == b"'=cmd," + b"0," * 20 + b"7," + b"0," * 9 + b"7"
    assert lines[2] == b'"search, team",' + b"0," * 28 + b"3000000000,0,3000000000"
    assert lines[3] == b""


def test_export_writes_into_the_current_directory_by_default(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given
    monkeypatch.chdir(tmp_path)

    # When
    result = invoke("export", "--period", "YTD", "--as-of", "2026-02-01")

    # Then
    assert result.exit_code == 0, result.output
    written = tmp_path / "Chargeback_2026-01-01_2026-02-01_OverallCost.csv"
    assert written.read_bytes() == b"Service account,2026-01,2026-02,Total\r\n"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_export_file_has_the_permissions_the_umask_gives(
    invoke: Invoke, tmp_path: Path, umask: int, mode: int
) -> None:
    # Given the user's umask
    previous = os.umask(umask)
    try:
        # When
        result = invoke(
            "export",
            "--period",
            "YTD",
            "--as-of",
            "2026-02-01",
            "--output",
            str(tmp_path / "reports"),
        )
    finally:
        os.umask(previous)

    # Then the file is as readable as any new file of this user, and no temporary is left
    assert result.exit_code == 0, result.output
    written = tmp_path / "reports" / "Chargeback_2026-01-01_2026-02-01_OverallCost.csv"
    assert stat.S_IMODE(written.stat().st_mode) == mode
    assert [entry.name for entry in written.parent.iterdir()] == [written.name]


def test_export_creates_a_missing_output_directory_with_its_parents(
    invoke: Invoke, tmp_path: Path
) -> None:
    # Given a directory that does not exist yet, nor its parent
    output = tmp_path / "reports" / "2026"

    # When
    result = invoke("export", "--period", "YTD", "--as-of", "2026-02-01", "--output", str(output))

    # Then
    written = output / "Chargeback_2026-01-01_2026-02-01_OverallCost.csv"
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{written}\n"
    assert written.read_bytes() == b"Service account,2026-01,2026-02,Total\r\n"


def test_export_refuses_an_output_path_that_is_a_file(invoke: Invoke, tmp_path: Path) -> None:
    # Given a file where the directory should be
    taken = tmp_path / "reports"
    taken.write_text("not a directory", encoding="utf-8")

    # When
    result = invoke("export", "--output", str(taken / "2026"))

    # Then the file is left alone and the message names the path
    assert result.exit_code == 2
    assert f"--output {taken / '2026'}: a file stands where a directory must be" in result.stderr
    assert taken.read_text(encoding="utf-8") == "not a directory"


def test_export_into_a_directory_that_takes_no_files_is_one_line(invoke: Invoke) -> None:
    # Given /proc: a directory that exists but where no file can be made (on Linux)
    # When
    result = invoke("export", "--output", "/proc")

    # Then one line naming the option and the reason, not a traceback
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: --output /proc: cannot write there: No such file or directory"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2W"], "unknown period '2W': choose one of 7D, 30D, 6M, 12M, YTD"),
        (["--tab", "overall", "--metric", "bytes"], "'bytes' is not offered on the overall tab"),
        (["--as-of", "2026-13-01"], "bad as-of date '2026-13-01'"),
        (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--tz", "posix/Europe/Berlin"], "unknown time zone 'posix/Europe/Berlin': use 'Europe/"),
        (["--tz", "right/UTC"], "unknown time zone 'right/UTC': use 'UTC'"),
        (["--tz", "localtime"], "unknown time zone 'localtime': use an IANA name such as UTC"),
        (["--tz", "Factory"], "unknown time zone 'Factory': use an IANA name such as UTC"),
        (["--sort", "owner:desc"], "unknown sort column 'owner'"),
        (["--sort", ":asc"], "bad sort ':asc': the column is missing; use COLUMN[:asc|:desc]"),
        (["--as-of", "9999-12-31", "--period", "7D"], "as-of date 9999-12-31 is too late: use a"),
        (["--as-of", "9999-12-31", "--period", "6M"], "as-of date 9999-12-31 is too late: use a"),
    ],
)
def test_bad_report_options_get_a_clean_message(
    invoke: Invoke, args: list[str], message: str
) -> None:
    # When
    result = invoke("report", *args)

    # Then
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_an_empty_tz_means_the_configured_zone_not_utc(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given
    monkeypatch.setenv("CHARGEBACK_TIMEZONE", "Asia/Kathmandu")

    # When
    result = invoke(
        "report", "--tz", "", "--period", "7D", "--as-of", "2026-03-10", "--format", "json"
    )

    # Then
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["query"]["tz"] == "Asia/Kathmandu"


def test_a_cluster_without_usage_gives_an_empty_report_not_an_error(
    invoke: Invoke, usage_file: Path
) -> None:
    # Given
    invoke("usage", "import", str(usage_file))

    # When
    result = invoke(
        "report",
        "--cluster",
        "nosuch",
        "--period",
        "7D",
        "--as-of",
        "2026-03-10",
        "--format",
        "json",
    )

    # Then
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["query"]["cluster"], body["rows"], body["grand_total"]) == ("nosuch", [], "0")


def test_table_shows_rows_and_a_totals_line(invoke: Invoke, usage_file: Path) -> None:
    # Given
    invoke("usage", "import", str(usage_file))

    # When
    result = invoke(
        "report", "--tab", "ingress", "--metric", "bytes", "--period", "7D", "--as-of", "2026-03-10"
    )

    # Then
    assert result.exit_code == 0, result.output
    assert "Ingress in bytes, 2026-03-04 to 2026-03-10 (UTC)" in result.stdout
    payments = next(line for line in result.stdout.splitlines() if "payments" in line)
    assert "2,000,000,000" in payments
    assert "2026-03-10" in result.stdout.splitlines()[2] or "2026-03-10" in result.stdout


def test_a_report_in_a_zone_past_max_report_zones_is_refused_and_built_zones_still_answer(
    invoke: Invoke, usage_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given room for two zones: UTC (built with the store) and Asia/Tokyo
    monkeypatch.setenv("CHARGEBACK_MAX_REPORT_ZONES", "2")
    invoke("usage", "import", str(usage_file))
    tokyo = ["report", "--period", "7D", "--as-of", "2026-03-10", "--format", "csv"]
    first = invoke(*tokyo, "--tz", "Asia/Tokyo")

    # When
    refused = invoke(*tokyo, "--tz", "Europe/Berlin")

    # Then
    assert first.exit_code == 0, first.output
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: time zone 'Europe/Berlin' has no rollups yet, and the store already keeps "
        "those of 2 zones, as many as the setting max_report_zones (2) allows: report in one "
        "of Asia/Tokyo, UTC, or ask an operator to raise max_report_zones\n"
    )
    assert invoke(*tokyo, "--tz", "Asia/Tokyo").stdout == first.stdout
