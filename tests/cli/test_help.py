"""Every command's --help reads well: named placeholders, no stray spaces, no internal words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from chargeback.cli import app


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


COMMAND_PATHS = list(_command_paths(typer.main.get_command(app)))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda path: " ".join(path) or "chargeback")
def test_help_names_every_value_and_reads_as_plain_english(path: tuple[str, ...]) -> None:
    # When
    text = _help(path)

    # Then: a flag shows no placeholder, an option's value has a name (PORT, not <int range>)
    options = [line.split() for line in text.splitlines() if line.startswith("  --")]
    assert options, text
    placeholders = [o[:2] for o in options if len(o) > 1 and re.match(r"[<{\[]", o[1])]
    assert placeholders == []
    assert "<bool>" not in text
    assert re.findall(r"\w \.", text) == []  # "period ." where a markup tag was eaten
    assert re.findall(r"\b(spec|contract)\b", text, re.IGNORECASE) == []
