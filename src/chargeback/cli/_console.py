"""The rich console the CLI prints tables and notes with."""

from __future__ import annotations

from rich.console import Console


def plain_console(*, stderr: bool = False) -> Console:
    """A console that prints text as given: a name such as "[ops]" is a name, not rich markup,
    and numbers and dates in a sentence keep its colour instead of rich's highlighting."""
    return Console(stderr=stderr, markup=False, highlight=False)
