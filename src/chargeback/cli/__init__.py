"""CLI: the `chargeback` command (Typer). Reads configuration and wires the parts together
(config -> store -> gateway sink, report engine, console). Nothing imports it.

Each command group lives in `_<name>.py` with `register(app)`; `_settings.py` holds the shared
plumbing (settings, `--db`, opening the store, clean errors).
"""

from pathlib import Path
from typing import Annotated

import typer

from chargeback.cli import (
    _demo,
    _gateway,
    _gateway_users,
    _pricing,
    _report,
    _serve,
    _tokens,
    _usage,
    _users,
)
from chargeback.cli._settings import CliState, clean_errors, load_settings

app = typer.Typer(
    no_args_is_help=True,
    help="Kafka chargeback: who uses the cluster, and what it costs.",
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain click help: Typer's rich help shows `<bool>` after every flag (even --help) and
    # reads square brackets in help texts as markup, silently dropping them.
    rich_markup_mode=None,
)


@app.callback()
@clean_errors
def _global_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="SQLAlchemy URL of the store; overrides CHARGEBACK_DB and the config file.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", metavar="FILE", help="TOML file with settings."),
    ] = None,
) -> None:
    """Kafka chargeback: who uses the cluster, and what it costs."""
    ctx.obj = CliState(settings=load_settings(config, db))


_pricing.register(app)
_report.register(app)
_usage.register(app)
_users.register(app)
_tokens.register(app)
_serve.register(app)
_demo.register(app)
_gateway_users.register(app)
_gateway.register(app)


def main() -> None:
    """Run the `chargeback` command."""
    app()
