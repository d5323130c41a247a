"""`chargeback users ...`, `chargeback tokens ...` and `chargeback serve` (CliRunner), plus one
run of the installed command serving real HTTP on a loopback port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from chargeback.cli import app
from chargeback.console import create_app, hash_api_token, hash_password, verify_password
from chargeback.store import Store, open_store

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def cli_store(db_url: str) -> Iterator[Store]:
    """The store the commands write to, opened by the test to check what they did."""
    opened = open_store(db_url)
    yield opened
    opened.close()


def test_users_add_reads_the_password_from_stdin_and_stores_only_its_hash(
    db_url: str, cli_store: Store
) -> None:
    # When
    result = runner.invoke(
        app,
        ["--db", db_url, "users", "add", "ada", "--role", "admin", "--password-stdin"],
        input="correct horse battery\n",
    )
    # Then
    assert result.exit_code == 0, result.output
    user = cli_store.get_user("ada")
    assert user is not None
    assert user.role == "admin"
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert verify_password(user.password_hash, "correct horse battery")


def test_users_add_asks_for_the_password_twice(db_url: str, cli_store: Store) -> None:
    # When
    result = runner.invoke(
        app,
        ["--db", db_url, "users", "add", "vic", "--role", "viewer"],
        input="viewer-pass-1\nviewer-pass-1\n",
    )
    # Then
    assert result.exit_code == 0, result.output
    user = cli_store.get_user("vic")
    assert user is not None
    assert verify_password(user.password_hash, "viewer-pass-1")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "boss", "--password-stdin"], "long-enough-1\n", "unknown role 'boss'"),
        (["--role", "viewer", "--password-stdin"], "short\n", "password too short"),
        (["--role", "viewer", "--password-stdin"], "", "no password on standard input"),
    ],
)
def test_users_add_refuses_bad_input_with_a_message(
    db_url: str, cli_store: Store, args: list[str], stdin: str, message: str
) -> None:
    # When
    result = runner.invoke(app, ["--db", db_url, "users", "add", "eve", *args], input=stdin)
    # Then
    assert result.exit_code == 1
    assert message in result.stderr
    assert cli_store.get_user("eve") is None


def test_users_add_refuses_a_name_that_exists(db_url: str, cli_store: Store) -> None:
    # Given
    cli_store.add_user("ada", hash_password("first-password"), "admin")
    # When
    result = runner.invoke(
        app,
        ["--db", db_url, "users", "add", "ada", "--role", "viewer", "--password-stdin"],
        input="second-password\n",
    )
    # Then
    assert result.exit_code == 1
    assert "ada" in result.stderr
    user = cli_store.get_user("ada")
    assert user is not None
    assert user.role == "admin"


def test_users_list_shows_names_and_roles_but_no_hashes(db_url: str, cli_store: Store) -> None:
    # Given
    cli_store.add_user("ada", hash_password("first-password"), "admin")
    cli_store.add_user("vic", hash_password("other-password"), "viewer")
    # When
    result = runner.invoke(app, ["--db", db_url, "users", "list"])
    # Then
    assert result.exit_code == 0
    assert "ada" in result.stdout
    assert "vic" in result.stdout
    assert "viewer" in result.stdout
    assert "argon2" not in result.stdout


def test_users_and_tokens_are_listed_by_their_names_as_given_never_as_rich_markup(
    db_url: str, cli_store: Store
) -> None:
    # Given names that rich would read as markup ([bold], [red]) or leave alone ([2026])
    cli_store.add_user("[bold]ada", hash_password("first-password"), "admin")
    cli_store.add_api_token("[red]ci", hash_api_token("cbt_one"), "[bold]ada")
    cli_store.add_api_token("ci", hash_api_token("cbt_two"), "[bold]ada")
    # When
    users = runner.invoke(app, ["--db", db_url, "users", "list"])
    tokens = runner.invoke(app, ["--db", db_url, "tokens", "list"])
    # Then every name is printed whole, so the two tokens cannot be taken for one
    assert "│ [bold]ada │ admin │" in users.stdout
    assert "│ [red]ci │ [bold]ada │" in tokens.stdout
    assert "│ ci      │ [bold]ada │" in tokens.stdout


def test_removing_the_last_admin_warns_that_serve_will_refuse(
    db_url: str, cli_store: Store
) -> None:
    # Given
    cli_store.add_user("ada", hash_password("first-password"), "admin")
    # When
    result = runner.invoke(app, ["--db", db_url, "users", "remove", "ada"])
    # Then
    assert result.exit_code == 0
    assert cli_store.get_user("ada") is None
    assert "no admin is left" in result.stderr


def test_removing_an_unknown_user_fails_with_a_message(db_url: str, cli_store: Store) -> None:
    # When
    result = runner.invoke(app, ["--db", db_url, "users", "remove", "nobody"])
    # Then
    assert result.exit_code == 1
    assert "no console user 'nobody'" in result.stderr


async def test_tokens_create_prints_a_token_that_signs_in_as_its_user(
    db_url: str, cli_store: Store
) -> None:
    # Given
    cli_store.add_user("vic", hash_password("other-password"), "viewer")
    # When
    result = runner.invoke(app, ["--db", db_url, "tokens", "create", "nightly", "--user", "vic"])
    # Then
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert [row.token_hash for row in cli_store.list_api_tokens()] == [hash_api_token(token)]
    transport = httpx.ASGITransport(app=create_app(cli_store))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        answer = await client.get("/api/v1/pricing", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


def test_tokens_create_defaults_to_the_user_of_the_same_name(db_url: str, cli_store: Store) -> None:
    # Given
    cli_store.add_user("prometheus", hash_password("scraper-password"), "viewer")
    # When
    result = runner.invoke(app, ["--db", db_url, "tokens", "create", "prometheus"])
    # Then
    assert result.exit_code == 0
    assert [row.user_name for row in cli_store.list_api_tokens()] == ["prometheus"]


def test_tokens_create_without_a_matching_user_says_to_pass_one(
    db_url: str, cli_store: Store
) -> None:
    # When
    result = runner.invoke(app, ["--db", db_url, "tokens", "create", "ci"])
    # Then
    assert result.exit_code == 1
    assert "pass --user USER" in result.stderr
    assert cli_store.list_api_tokens() == []


def test_tokens_list_and_remove(db_url: str, cli_store: Store) -> None:
    # Given
    cli_store.add_user("vic", hash_password("other-password"), "viewer")
    cli_store.add_api_token("nightly", hash_api_token("cbt_x"), "vic")
    listed = runner.invoke(app, ["--db", db_url, "tokens", "list"])
    # When
    removed = runner.invoke(app, ["--db", db_url, "tokens", "remove", "nightly"])
    again = runner.invoke(app, ["--db", db_url, "tokens", "remove", "nightly"])
    # Then
    assert "nightly" in listed.stdout
    assert "vic" in listed.stdout
    assert removed.exit_code == 0
    assert (again.exit_code, "no API token 'nightly'" in again.stderr) == (1, True)
    assert cli_store.list_api_tokens() == []


def test_serve_refuses_to_start_without_an_admin_and_says_how_to_add_one(
    db_url: str, cli_store: Store
) -> None:
    # Given only a viewer
    cli_store.add_user("vic", hash_password("other-password"), "viewer")
    # When
    result = runner.invoke(app, ["--db", db_url, "serve", "--port", "1"])
    # Then
    assert result.exit_code == 1
    assert "chargeback users add NAME --role admin" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_healthy(url: str, server: subprocess.Popen[bytes], timeout_seconds: float) -> None:
    """Poll /healthz until it answers 200; fail if the server exits or the time runs out."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "chargeback serve exited early"
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url}/healthz did not answer within {timeout_seconds} s")


def test_the_installed_command_serves_the_console_on_a_loopback_port(
    db_url: str, cli_store: Store
) -> None:
    # Given
    cli_store.add_user("ada", hash_password("admin-password"), "admin")
    port = free_port()
    command = Path(sys.executable).parent / "chargeback"
    server = subprocess.Popen(
        [str(command), "--db", db_url, "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CHARGEBACK_TIMEZONE": "Europe/Berlin"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, server, timeout_seconds=60)
        # When
        answer = httpx.get(f"{url}/api/v1/chargeback", auth=("ada", "admin-password"))
        anonymous = httpx.get(f"{url}/api/v1/chargeback")
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Then
    assert answer.status_code == 200
    assert answer.json()["query"]["tz"] == "Europe/Berlin"
    assert anonymous.status_code == 401


def test_serve_on_a_port_in_use_says_so_in_one_line_naming_the_option(
    db_url: str, cli_store: Store
) -> None:
    # Given an admin, and the port taken by another program
    cli_store.add_user("ada", hash_password("admin-password"), "admin")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]
        # When
        result = runner.invoke(app, ["--db", db_url, "serve", "--port", str(port)])
    # Then one line on stderr, ending in a newline, with no errno and no banner before it
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: --port: cannot listen on 127.0.0.1:{port}: the port is in use by another "
        "program; choose another with --port\n"
    )
