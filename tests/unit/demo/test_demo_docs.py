"""The demo's guide cannot go stale: every option of `chargeback demo` is documented."""

from pathlib import Path
from typing import Any

import typer

from chargeback.cli import app

GUIDE = Path(__file__).parents[3] / "docs" / "user-guide" / "demo.md"


def test_every_option_of_chargeback_demo_is_in_the_demo_guide() -> None:
    # Given the demo's user guide
    guide = GUIDE.read_text(encoding="utf-8")

    # When the options of `chargeback demo` are listed
    command: Any = typer.main.get_command(app)
    options = [
        option
        for param in command.commands["demo"].params
        for option in param.opts
        if option.startswith("--") and option != "--help"
    ]

    # Then each one is in the guide's table of options
    assert options
    assert [option for option in options if f"| `{option}" not in guide] == []
