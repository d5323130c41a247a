"""`chargeback usage import FILE`: back-fill usage from a CSV or JSON Lines file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chargeback.cli._console import plain_console
from chargeback.cli._settings import clean_errors, open_store_from_context
from chargeback.store import ImportPhase

usage_app = typer.Typer(no_args_is_help=True, help="Usage data: import files.")


def register(app: typer.Typer) -> None:
    """Add the `usage` command group to `app`."""
    app.add_typer(usage_app, name="usage")


@usage_app.command("import")
@clean_errors
def import_file(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV (timestamp,cluster,service_account,topic,direction,bytes) or JSON Lines.",
        ),
    ],
) -> None:
    """Import usage from FILE once: a bad line aborts it, the same records again count nothing."""
    store = open_store_from_context(ctx)
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=plain_console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(f"checking {file.name}", total=None)

        def show(phase: ImportPhase, lines_done: int, lines_total: int) -> None:
            progress.update(
                task, description=f"{phase} {file.name}", completed=lines_done, total=lines_total
            )

        result = store.import_usage_file(file, show)
    if result.is_new:
        typer.echo(f"imported {result.records_read} usage rows from {file}")
    else:
        # The store keys imports by their records; the key itself means nothing to a reader.
        typer.echo(f"{file}: already imported (the same records): nothing counted again")
