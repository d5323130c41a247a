"""CLI: the `chargeback` command (Typer). Reads configuration and wires the parts together
(config -> store -> gateway sink, report engine, console). Nothing imports it.
"""

import typer

app = typer.Typer(
    no_args_is_help=True, help="Kafka chargeback: who uses the cluster, and what it costs."
)


def main() -> None:
    """Run the `chargeback` command."""
    app()
