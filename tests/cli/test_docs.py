"""Docs that cannot go stale: every option of these commands and every setting is documented."""

from pathlib import Path
from typing import Any

import pytest
import typer

from chargeback.cli import app
from chargeback.cli._settings import Settings

DOCS = Path(__file__).parents[2] / "docs"
COMMANDS = [("report",), ("export",), ("pricing", "show"), ("pricing", "set"), ("usage", "import")]


def command(path: tuple[str, ...]) -> Any:
    """The click command at `path` (typer vendors its own click, hence no click types)."""
    found: Any = typer.main.get_command(app)
    for name in path:
        found = found.commands[name]
    return found


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_option_of_the_command_is_in_the_cli_reference(path: tuple[str, ...]) -> None:
    # Given
    reference = (DOCS / "cli.md").read_text(encoding="utf-8")

    # When
    options = [
        option for param in command(path).params for option in param.opts if option.startswith("--")
    ]

    # Then
    assert f"`chargeback {' '.join(path)}" in reference
    missing = [option for option in options if f"`{option}" not in reference]
    assert missing == [], f"undocumented options of {' '.join(path)}: {missing}"


def test_every_global_option_is_in_the_cli_reference() -> None:
    # Given
    reference = (DOCS / "cli.md").read_text(encoding="utf-8")

    # When
    options = [o for p in typer.main.get_command(app).params for o in p.opts if o != "--help"]

    # Then
    assert [o for o in options if f"`{o}" not in reference] == []


def test_every_setting_is_in_the_configuration_guide() -> None:
    # Given
    guide = (DOCS / "user-guide" / "configuration.md").read_text(encoding="utf-8")

    # When
    names = list(Settings.model_fields)

    # Then
    assert [
        n for n in names if f"`{n}`" not in guide or f"`CHARGEBACK_{n.upper()}`" not in guide
    ] == []
