"""docs/identity.md cannot go stale: every identity option and gateway-users option is in it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import typer

from chargeback.cli import app
from chargeback.cli._gateway_users import IdentityOptions

GUIDE = Path(__file__).parents[3] / "docs" / "identity.md"


def _command(*path: str) -> Any:
    found: Any = typer.main.get_command(app)
    for name in path:
        found = found.commands[name]
    return found


def _options(*path: str) -> list[str]:
    return [
        o for p in _command(*path).params for o in p.opts if o.startswith("--") and o != "--help"
    ]


def _identity_option_names() -> list[str]:
    return ["--" + f.name.replace("_", "-") for f in dataclasses.fields(IdentityOptions)]


@pytest.mark.parametrize("command", ["add", "remove", "list"])
def test_every_gateway_users_option_is_in_the_identity_guide(command: str) -> None:
    # Given the guide
    guide = GUIDE.read_text(encoding="utf-8")
    # When the command's options are listed
    options = _options("gateway-users", command)
    # Then each one is named in the guide, and so is the command
    assert f"chargeback gateway-users {command}" in guide
    assert [o for o in options if f"`{o}" not in guide and f" {o}" not in guide] == []


def test_every_identity_option_is_offered_by_the_gateway_command_and_documented() -> None:
    # Given the guide and the gateway command
    guide = GUIDE.read_text(encoding="utf-8")
    offered = set(_options("gateway"))
    # When the identity options are listed
    names = _identity_option_names()
    # Then the command offers each one and the guide explains each one
    assert [n for n in names if n not in offered] == []
    assert [n for n in names if n not in guide] == []
