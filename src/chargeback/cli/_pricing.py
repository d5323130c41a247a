"""`chargeback pricing show|set`: the prices per GB, the currency and the GB unit."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from chargeback.cli._console import plain_console
from chargeback.cli._settings import EXIT_USAGE, clean_errors, fail, open_store_from_context
from chargeback.pricing import PriceSettings, parse_prices

pricing_app = typer.Typer(no_args_is_help=True, help="Show or set the prices.")


def register(app: typer.Typer) -> None:
    """Add the `pricing` command group to `app`."""
    app.add_typer(pricing_app, name="pricing")


@pricing_app.command("show")
@clean_errors
def show(ctx: typer.Context) -> None:
    """Show the prices in force and the GB unit they apply to."""
    _print_prices(open_store_from_context(ctx).get_prices())


@pricing_app.command("set")
@clean_errors
def set_prices(
    ctx: typer.Context,
    ingress_per_gb: Annotated[
        str | None, typer.Option("--ingress-per-gb", metavar="X", help="Price per produced GB.")
    ] = None,
    egress_per_gb: Annotated[
        str | None, typer.Option("--egress-per-gb", metavar="Y", help="Price per consumed GB.")
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", metavar="CODE", help="ISO 4217 code, e.g. USD.")
    ] = None,
    gb_size: Annotated[
        str | None,
        typer.Option(
            "--gb-size",
            metavar="decimal|binary",
            help="1 GB = 1,000,000,000 bytes (decimal) or 1,073,741,824 bytes (binary).",
        ),
    ] = None,
) -> None:
    """Change some or all prices; options left out keep their value."""
    if all(value is None for value in (ingress_per_gb, egress_per_gb, currency, gb_size)):
        fail(
            "give at least one of --ingress-per-gb, --egress-per-gb, --currency, --gb-size",
            EXIT_USAGE,
        )
    store = open_store_from_context(ctx)
    prices = parse_prices(
        ingress_per_gb=ingress_per_gb,
        egress_per_gb=egress_per_gb,
        currency=currency,
        gb_unit=gb_size,
        base=store.get_prices(),
    )
    store.set_prices(prices)
    _print_prices(prices)


def _print_prices(prices: PriceSettings) -> None:
    table = Table(title="Prices", show_header=False)
    table.add_row("Ingress (produced) per GB", f"{prices.ingress_per_gb:f} {prices.currency}")
    table.add_row("Egress (consumed) per GB", f"{prices.egress_per_gb:f} {prices.currency}")
    table.add_row("Currency", prices.currency)
    table.add_row(
        "GB unit", f"{prices.gb_unit.value}: 1 GB = {prices.gb_unit.bytes_per_gb:,} bytes"
    )
    plain_console().print(table)
