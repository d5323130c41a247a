"""`chargeback tokens create|list|remove`: API tokens for scripts (Bearer authentication)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from chargeback.cli._console import plain_console
from chargeback.cli._settings import clean_errors, open_store_from_context
from chargeback.console import ConsoleError, hash_api_token, new_api_token

tokens_app = typer.Typer(no_args_is_help=True, help="Manage API tokens.")


def register(app: typer.Typer) -> None:
    """Add the `tokens` command group to `app`."""
    app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
@clean_errors
def create(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A name for the token, e.g. the script using it.")
    ],
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            metavar="USER",
            help="Console user the token acts as.",
            show_default="the user named NAME",
        ),
    ] = None,
) -> None:
    """Create a token and print it once on standard output; only its hash is stored."""
    store = open_store_from_context(ctx)
    owner = name if user is None else user
    row = store.get_user(owner)
    if row is None:
        hint = "pass --user USER" if user is None else "see `chargeback users list`"
        raise ConsoleError(f"no console user {owner!r} for token {name!r}: {hint}")
    token = new_api_token()
    store.add_api_token(name, hash_api_token(token), row.name)
    typer.echo(token)
    typer.echo(
        f"token {name!r} acts as {row.role} {row.name!r}; store it now, it is not shown again. "
        "Use it as `Authorization: Bearer <token>`.",
        err=True,
    )


@tokens_app.command("list")
@clean_errors
def list_tokens(ctx: typer.Context) -> None:
    """List the API tokens by name and user (the tokens themselves are not stored)."""
    table = Table("Token", "User", "Created (UTC)")
    for row in open_store_from_context(ctx).list_api_tokens():
        table.add_row(row.name, row.user_name, row.created_at_utc.strftime("%Y-%m-%d %H:%M:%S"))
    plain_console().print(table)


@tokens_app.command("remove")
@clean_errors
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Token to revoke.")],
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    if not open_store_from_context(ctx).remove_api_token(name):
        raise ConsoleError(f"no API token {name!r} (see `chargeback tokens list`)")
    typer.echo(f"removed token {name!r}")
