"""`chargeback demo`: the whole product on real Kafka traffic, on this machine."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import platformdirs
import typer

from chargeback.cli._settings import APP_NAME, clean_errors
from chargeback.demo import DemoOptions, run_demo


def default_data_dir() -> Path:
    """The demo's own folder in the user's data directory (apart from the real store)."""
    return platformdirs.user_data_path(APP_NAME) / "demo"


def register(app: typer.Typer) -> None:
    """Add the `demo` command to `app`."""
    app.command("demo")(demo)


@clean_errors
def demo(
    port: Annotated[
        int,
        typer.Option(
            "--port", metavar="PORT", min=1, max=65535, help="Port of the console on 127.0.0.1."
        ),
    ] = 8080,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", metavar="SECONDS", min=1, help="Stop by itself after this many seconds."
        ),
    ] = None,
    admin_password: Annotated[
        str | None,
        typer.Option(
            "--admin-password",
            metavar="PASSWORD",
            help="Password of the console user 'admin'.",
            show_default="generated and printed once",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="Where the demo keeps its store and ledger.",
            show_default="a 'demo' folder in the user's data directory",
            file_okay=False,
        ),
    ] = None,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Add synthetic usage for the 13 months before today, as cluster "
            "'synthetic-history'.",
        ),
    ] = False,
    traffic_seconds: Annotated[
        float | None,
        typer.Option(
            "--traffic-seconds",
            metavar="SECONDS",
            min=0,
            help="Stop the client apps after this many seconds and write their ledger; "
            "the console stays up.",
        ),
    ] = None,
    gateway_port: Annotated[
        int | None,
        typer.Option(
            "--gateway-port",
            metavar="PORT",
            min=1,
            max=65534,
            help="Bootstrap port of the metering gateway on 127.0.0.1; it also uses the next "
            "port, for the broker.",
            show_default="two free ports",
        ),
    ] = None,
) -> None:
    """Run broker, metering gateway, store, console and client apps; Ctrl-C stops them all."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    options = DemoOptions(
        data_dir=(data_dir or default_data_dir()).expanduser().resolve(),
        console_port=port,
        duration_seconds=duration,
        traffic_seconds=traffic_seconds,
        admin_password=admin_password,
        with_history=history,
        gateway_port=gateway_port,
    )
    run_demo(options, lambda line: typer.echo(line))
