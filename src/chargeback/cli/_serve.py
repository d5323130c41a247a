"""`chargeback serve`: the web console and REST API."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from chargeback.cli._settings import clean_errors, open_store_from_context, settings_from_context
from chargeback.console import ConsoleError, ConsoleSettings, Role, create_app, listen_socket


def register(app: typer.Typer) -> None:
    """Add the `serve` command to `app`."""
    app.command("serve")(serve)


@clean_errors
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", help="TCP port to listen on.")
    ] = 8080,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="Mark the session cookie Secure (when users reach the console over HTTPS).",
        ),
    ] = False,
) -> None:
    """Serve the Chargeback page and the REST API until interrupted (Ctrl-C)."""
    store = open_store_from_context(ctx)
    if not any(user.role == Role.ADMIN.value for user in store.list_users()):
        raise ConsoleError(
            "no admin user exists, so nobody could sign in to manage prices. Create one with:\n"
            "  chargeback users add NAME --role admin"
        )
    settings = ConsoleSettings(
        default_zone=settings_from_context(ctx).timezone, secure_cookies=secure_cookies
    )
    # Bound here, before the banner: a port in use is one line naming --port, not a server log.
    listener = listen_socket(host, port, "--port")
    typer.echo(f"console on http://{_url_host(host)}:{port}/ (Ctrl-C to stop)", err=True)
    server = uvicorn.Server(uvicorn.Config(create_app(store, settings), log_level="info"))
    with listener:
        server.run(sockets=[listener])


def _url_host(host: str) -> str:
    """`host` as it goes into a URL (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host else host
