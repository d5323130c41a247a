"""The API reference and the user guide cannot silently fall behind the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer

from chargeback.cli import app as cli_app
from chargeback.console import ConsoleSettings
from tests.console.conftest import ADMIN_HEADERS

DOCS = Path(__file__).resolve().parents[2] / "docs"


async def test_every_documented_route_of_the_openapi_document_is_in_the_api_reference(
    client: httpx.AsyncClient,
) -> None:
    # Given
    reference = (DOCS / "api.md").read_text()
    document = (await client.get("/openapi.json", headers=ADMIN_HEADERS)).json()
    # When
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if f"{method.upper()} {path}" not in reference
    ]
    # Then
    assert missing == []


async def test_every_query_parameter_is_in_the_api_reference(client: httpx.AsyncClient) -> None:
    # Given
    reference = (DOCS / "api.md").read_text()
    document = (await client.get("/openapi.json", headers=ADMIN_HEADERS)).json()
    parameters = document["paths"]["/api/v1/chargeback"]["get"]["parameters"]
    # When
    missing = [p["name"] for p in parameters if f"| `{p['name']}` |" not in reference]
    # Then
    assert missing == []


def test_every_console_setting_is_named_in_the_user_guide_or_the_api_reference() -> None:
    # Given the settings a user can reach: the serve options and the defaults they imply
    guide = (DOCS / "user-guide" / "console.md").read_text()
    reachable = {
        "default_zone": "CHARGEBACK_TIMEZONE",
        "secure_cookies": "--secure-cookies",
        "session_max_age_seconds": "12 hours",
        "chart_top_accounts": "eight",
        "default_tab": "Overall Cost, 30 days",
        "default_period": "Overall Cost, 30 days",
    }
    # When
    fields = set(ConsoleSettings.__dataclass_fields__)
    # Then
    assert fields == set(reachable)
    assert [text for text in reachable.values() if not re.search(re.escape(text), guide)] == []


CONSOLE_COMMANDS = [
    ("serve",),
    ("users", "add"),
    ("users", "list"),
    ("users", "remove"),
    ("tokens", "create"),
    ("tokens", "list"),
    ("tokens", "remove"),
]


@pytest.mark.parametrize("path", CONSOLE_COMMANDS, ids=" ".join)
def test_every_console_command_and_option_is_in_the_guide_or_the_api_reference(
    path: tuple[str, ...],
) -> None:
    # Given
    docs = (DOCS / "user-guide" / "console.md").read_text() + (DOCS / "api.md").read_text()
    found: Any = typer.main.get_command(cli_app)
    for name in path:
        found = found.commands[name]
    # When
    options = [o for p in found.params for o in p.opts if o.startswith("--") and o != "--help"]
    # Then
    assert f"chargeback {' '.join(path)}" in docs
    assert [option for option in options if option not in docs] == []
