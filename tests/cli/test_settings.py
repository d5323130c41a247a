"""Where the CLI's settings come from: --db, CHARGEBACK_*, the --config file, the defaults."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.conftest import Invoke
from typer.testing import CliRunner

from chargeback.cli import app


def ingress_bytes(*global_args: str) -> object:
    """The ingress grand total on 9 March 2026 (7D), as JSON."""
    result = CliRunner().invoke(
        app,
        [*global_args, "report", "--tab", "ingress", "--metric", "bytes", "--period", "7D",
         "--as-of", "2026-03-09", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["grand_total"]


@pytest.fixture
def two_stores(tmp_path: Path, invoke: Invoke) -> tuple[str, str]:
    """Two SQLite stores: the first holds 1 byte of ingress on 9 March, the second 2 bytes."""
    urls = []
    for byte_count in (1, 2):
        usage = tmp_path / f"u{byte_count}.csv"
        usage.write_text(
            "timestamp,cluster,service_account,topic,direction,bytes\n"
            f"2026-03-09T12:00:00Z,c,sa,t,ingress,{byte_count}\n",
            encoding="utf-8",
        )
        url = f"sqlite:///{tmp_path / f's{byte_count}.db'}"
        assert invoke("usage", "import", str(usage), db=url).exit_code == 0
        urls.append(url)
    return urls[0], urls[1]


def test_db_option_overrides_the_environment_which_overrides_the_config_file(
    two_stores: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    # Given
    first, second = two_stores
    config = tmp_path / "chargeback.toml"
    config.write_text(f'db = "{first}"\n', encoding="utf-8")

    # When
    from_file = ingress_bytes("--config", str(config))
    monkeypatch.setenv("CHARGEBACK_DB", second)
    from_env = ingress_bytes("--config", str(config))
    from_option = ingress_bytes("--config", str(config), "--db", first)

    # Then
    assert (from_file, from_env, from_option) == (1, 2, 1)


def test_the_timezone_setting_is_the_default_reporting_zone(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 1 byte at 23:00 UTC on 9 March: 10 March in Tokyo
    usage = tmp_path / "late.jsonl"
    usage.write_text(
        '{"timestamp": "2026-03-09T23:00:00Z", "cluster": "c", "service_account": "sa",'
        ' "topic": "t", "direction": "ingress", "bytes": 1}\n',
        encoding="utf-8",
    )
    invoke("usage", "import", str(usage))
    monkeypatch.setenv("CHARGEBACK_TIMEZONE", "Asia/Tokyo")

    # When
    result = invoke(
        "report", "--tab", "ingress", "--metric", "bytes", "--period", "7D",
        "--as-of", "2026-03-10", "--format", "json",
    )  # fmt: skip

    # Then
    data = json.loads(result.stdout)
    assert data["query"]["tz"] == "Asia/Tokyo"
    assert data["rows"][0]["cells"][-1] == 1


def test_the_default_store_is_a_sqlite_file_in_the_users_data_directory(
    isolated_env: Path, invoke: Invoke
) -> None:
    # When
    result = invoke("pricing", "set", "--currency", "GBP", db=None)

    # Then
    assert result.exit_code == 0, result.output
    assert (isolated_env / "kafka-chargeback" / "chargeback.db").is_file()
    assert "GBP" in invoke("pricing", "show", db=None).stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("db = ", "is not valid TOML"),
        ('dbb = "sqlite://"\n', "unknown setting 'dbb'"),
        ('timezone = "Moon/Base"\n', "unknown time zone 'Moon/Base'"),
        ('timezone = "localtime"\n', "unknown time zone 'localtime'"),
        ('timezone = "posix/Asia/Tokyo"\n', "use 'Asia/Tokyo'"),
        ("max_report_zones = 0\n", "setting 'max_report_zones' (CHARGEBACK_MAX_REPORT_ZONES)"),
    ],
)
def test_a_bad_config_file_gets_a_message_and_exit_code_2(
    invoke: Invoke, tmp_path: Path, content: str, message: str
) -> None:
    # Given
    config = tmp_path / "bad.toml"
    config.write_text(content, encoding="utf-8")

    # When
    result = invoke("--config", str(config), "pricing", "show")

    # Then
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_config_file_is_named(invoke: Invoke, tmp_path: Path) -> None:
    # When
    result = invoke("--config", str(tmp_path / "nope.toml"), "pricing", "show")

    # Then
    assert result.exit_code == 2
    assert result.stderr == f"error: config file {tmp_path / 'nope.toml'} does not exist\n"


def test_an_unreachable_database_is_a_clean_error(invoke: Invoke) -> None:
    # When
    result = invoke("pricing", "show", db="postgresql+psycopg://nobody@127.0.0.1:1/none")

    # Then
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("database", "reason"),
    [
        (
            "taken/chargeback.db",
            "cannot create the folder {tmp}/taken: a file of that name is in the way",
        ),
        (
            "taken/sub/chargeback.db",
            "cannot create the folder {tmp}/taken/sub: a part of its path is a file, not a folder",
        ),
    ],
    ids=["file-as-folder", "file-in-path"],
)
def test_a_sqlite_path_through_a_file_is_a_one_line_error(
    invoke: Invoke, tmp_path: Path, database: str, reason: str
) -> None:
    # Given a file where the store's folder should be
    (tmp_path / "taken").write_text("not a folder", encoding="utf-8")
    url = f"sqlite:///{tmp_path / database}"

    # When
    result = invoke("pricing", "show", db=url)

    # Then
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot open the SQLite store '{url}': {reason.format(tmp=tmp_path)}\n"
    )


def test_a_sqlite_path_in_a_place_that_cannot_hold_folders_is_a_one_line_error(
    invoke: Invoke,
) -> None:
    # When: /proc is the kernel's: nothing can be made in it, not even by root
    result = invoke("pricing", "show", db="sqlite:////proc/nope/x.db")

    # Then
    assert result.exit_code == 1
    assert result.stderr == (
        "error: cannot open the SQLite store 'sqlite:////proc/nope/x.db': cannot create the "
        "folder /proc/nope: No such file or directory\n"
    )


def test_the_installed_command_runs_as_a_subprocess(tmp_path: Path) -> None:
    # Given
    command = Path(sys.executable).parent / "chargeback"
    url = f"sqlite:///{tmp_path / 'sub.db'}"
    usage = tmp_path / "u.csv"
    usage.write_text(
        "timestamp,cluster,service_account,topic,direction,bytes\n"
        "2026-03-09T12:00:00Z,c,sa,t,ingress,42\n",
        encoding="utf-8",
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CHARGEBACK_DB": url}
    subprocess.run(
        [command, "usage", "import", str(usage)], check=True, env=env, capture_output=True
    )

    # When
    done = subprocess.run(
        [command, "report", "--tab", "ingress", "--period", "7D", "--as-of", "2026-03-09",
         "--format", "csv"],
        env=env, capture_output=True, check=False,
    )  # fmt: skip

    # Then
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        b"Service account,2026-03-03,2026-03-04,2026-03-05,2026-03-06,2026-03-07,2026-03-08,"
        b"2026-03-09,Total\r\nsa,0,0,0,0,0,0,42,42\r\n"
    )
