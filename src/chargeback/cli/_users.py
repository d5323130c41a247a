"""`chargeback users add|list|remove`: the console's local users and their roles."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from chargeback.cli._console import plain_console
from chargeback.cli._settings import clean_errors, open_store_from_context
from chargeback.console import ConsoleError, Role, hash_password, parse_role

users_app = typer.Typer(no_args_is_help=True, help="Manage the console's users.")


def register(app: typer.Typer) -> None:
    """Add the `users` command group to `app`."""
    app.add_typer(users_app, name="users")


@users_app.command("add")
@clean_errors
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name to sign in with.")],
    role: Annotated[
        str, typer.Option("--role", metavar="admin|viewer", help="Admins may also change prices.")
    ],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
) -> None:
    """Add a console user; the password is asked for (twice), or read from standard input."""
    chosen_role = parse_role(role)
    if not name.strip() or name != name.strip():
        raise ConsoleError(f"bad user name {name!r}: no empty names, no surrounding spaces")
    password = _read_password_stdin() if password_stdin else _ask_password(name)
    store = open_store_from_context(ctx)
    store.add_user(name, hash_password(password), chosen_role.value)
    typer.echo(f"added {chosen_role.value} {name!r}")


@users_app.command("list")
@clean_errors
def list_users(ctx: typer.Context) -> None:
    """List the console users and their roles (never their password hashes)."""
    table = Table("User", "Role", "Created (UTC)")
    for user in open_store_from_context(ctx).list_users():
        table.add_row(user.name, user.role, user.created_at_utc.strftime("%Y-%m-%d %H:%M:%S"))
    plain_console().print(table)


@users_app.command("remove")
@clean_errors
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="User to remove.")],
) -> None:
    """Remove a console user; their sessions and API tokens stop working at once."""
    store = open_store_from_context(ctx)
    if not store.remove_user(name):
        raise ConsoleError(f"no console user {name!r} (see `chargeback users list`)")
    typer.echo(f"removed {name!r}")
    if not any(user.role == Role.ADMIN.value for user in store.list_users()):
        typer.echo(
            "warning: no admin is left; `chargeback serve` refuses to start until you add one "
            "with `chargeback users add NAME --role admin`",
            err=True,
        )


def _read_password_stdin() -> str:
    """The first line of standard input, without its line end (spaces are kept)."""
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise ConsoleError("no password on standard input")
    return password


def _ask_password(name: str) -> str:
    password: str = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    return password
