"""`chargeback report` (a table, CSV or JSON on stdout) and `chargeback export` (the spec's
CSV file). Both only parse options, call the report engine and print what it returns.
"""

from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from chargeback.cli._settings import (
    EXIT_USAGE,
    clean_errors,
    fail,
    open_store_from_context,
    settings_from_context,
)
from chargeback.pricing import round_half_up
from chargeback.reports import (
    Cell,
    Metric,
    Report,
    ReportQuery,
    ReportRow,
    Tab,
    build_report,
    parse_query,
    to_csv,
)

_TAB_TITLES = {Tab.OVERALL: "Overall Cost", Tab.INGRESS: "Ingress", Tab.EGRESS: "Egress"}


class OutputFormat(StrEnum):
    """What `chargeback report` prints."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


TabOption = Annotated[
    str, typer.Option("--tab", metavar="overall|ingress|egress", help="Which view.")
]
PeriodOption = Annotated[
    str, typer.Option("--period", metavar="7D|30D|6M|12M|YTD", help="Which period.")
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", metavar="YYYY-MM-DD", help="Last day of the period [default: today]."),
]
ZoneOption = Annotated[
    str | None,
    typer.Option(
        "--tz", metavar="ZONE", help="IANA time zone of the days [default: setting timezone]."
    ),
]
FilterOption = Annotated[
    str | None,
    typer.Option(
        "--filter", metavar="TEXT", help="Only service accounts containing TEXT (any case)."
    ),
]
SortOption = Annotated[
    str | None,
    typer.Option(
        "--sort",
        metavar="COLUMN[:asc|:desc]",
        help="service_account, total or a bucket label [default: total:desc].",
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option("--cluster", metavar="NAME", help="Only this cluster [default: all, summed]."),
]


def register(app: typer.Typer) -> None:
    """Add the `report` and `export` commands to `app`."""
    app.command("report")(report)
    app.command("export")(export)


@clean_errors
def report(
    ctx: typer.Context,
    tab: TabOption = "overall",
    period: PeriodOption = "30D",
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            metavar="cost|bytes|percentage",
            help="What the cells hold [default: cost]; overall offers cost and percentage.",
        ),
    ] = None,
    as_of: AsOfOption = None,
    tz: ZoneOption = None,
    filter_text: FilterOption = None,
    sort: SortOption = None,
    cluster: ClusterOption = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="table: for people; csv: the export file's content; json: exact."
        ),
    ] = OutputFormat.TABLE,
) -> None:
    """Show the chargeback report of one tab and period."""
    query = _query(ctx, tab, period, metric, as_of, tz, filter_text, sort, cluster)
    result = build_report(open_store_from_context(ctx), query)
    if output_format is OutputFormat.CSV:
        typer.echo(to_csv(result).content, nl=False)
    elif output_format is OutputFormat.JSON:
        typer.echo(json.dumps(report_as_json(result), ensure_ascii=False, indent=2))
    else:
        _print_table(_table(result))


@clean_errors
def export(
    ctx: typer.Context,
    tab: TabOption = "overall",
    period: PeriodOption = "30D",
    as_of: AsOfOption = None,
    tz: ZoneOption = None,
    filter_text: FilterOption = None,
    sort: SortOption = None,
    cluster: ClusterOption = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            metavar="DIR",
            file_okay=False,
            help="Directory to write the file into [default: the current directory].",
        ),
    ] = Path("."),
) -> None:
    """Write the report's CSV file (named as the spec says) into DIR and print its path."""
    if not output.is_dir():
        fail(f"--output {output} is not an existing directory", EXIT_USAGE)
    query = _query(ctx, tab, period, None, as_of, tz, filter_text, sort, cluster)
    export_file = to_csv(build_report(open_store_from_context(ctx), query))
    path = output / export_file.filename
    _write_atomically(path, export_file.content)
    typer.echo(str(path))


def _query(
    ctx: typer.Context,
    tab: str,
    period: str,
    metric: str | None,
    as_of: str | None,
    tz: str | None,
    filter_text: str | None,
    sort: str | None,
    cluster: str | None,
) -> ReportQuery:
    # An empty --tz is no --tz, as an empty --as-of, --filter or --cluster is (and as an
    # empty tz= is in the API): the configured zone, not UTC.
    zone = tz if tz else settings_from_context(ctx).timezone
    return parse_query(tab, period, metric, as_of, zone, filter_text, sort, cluster)


def _write_atomically(path: Path, content: bytes) -> None:
    # A reader (or a crash) never sees half a file: write beside it, then rename over it.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".chargeback-", suffix=".csv")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def report_as_json(result: Report) -> dict[str, Any]:
    """The report as JSON-ready data: exact decimals as strings, bytes as integers."""
    query = result.query
    return {
        "tab": query.tab.value,
        "period": query.period.value,
        "metric": query.metric.value,
        "as_of": query.as_of.isoformat(),
        "zone": query.zone,
        "cluster": query.cluster,
        "filter": query.filter_text,
        "sort": {"column": query.sort.column, "descending": query.sort.descending},
        "first_day": result.first_day.isoformat(),
        "last_day": result.last_day.isoformat(),
        "unit": result.unit,
        "prices": {
            "ingress_per_gb": f"{result.prices.ingress_per_gb:f}",
            "egress_per_gb": f"{result.prices.egress_per_gb:f}",
            "currency": result.prices.currency,
            "gb_unit": result.prices.gb_unit.value,
        },
        "buckets": [bucket.label for bucket in result.buckets],
        "rows": [_row_as_json(row) for row in result.rows],
        "column_totals": [_exact(cell) for cell in result.column_totals],
        "grand_total": _exact(result.grand_total),
    }


def _row_as_json(row: ReportRow) -> dict[str, Any]:
    return {
        "service_account": row.service_account,
        "cells": [_exact(cell) for cell in row.cells],
        "total": _exact(row.total),
    }


def _exact(cell: Cell) -> str | int:
    # normalize() drops representation zeros (0.20 -> 0.2); the value stays exact.
    return f"{cell.normalize():f}" if isinstance(cell, Decimal) else cell


def _table(result: Report) -> Table:
    query = result.query
    shown_in = "% of the tab's total" if query.metric is Metric.PERCENTAGE else result.unit
    title = (
        f"{_TAB_TITLES[query.tab]} in {shown_in}, {result.first_day} to {result.last_day}"
        f" ({query.zone})"
    )
    if query.cluster:
        title += f", cluster {query.cluster}"
    table = Table(title=title, show_footer=True)
    table.add_column("Service account", footer="Total")
    for bucket, total in zip(result.buckets, result.column_totals, strict=True):
        table.add_column(bucket.label, footer=_shown(total, query.metric), justify="right")
    table.add_column("Total", footer=_shown(result.grand_total, query.metric), justify="right")
    for row in result.rows:
        table.add_row(
            row.service_account, *(_shown(c, query.metric) for c in (*row.cells, row.total))
        )
    return table


def _print_table(table: Table) -> None:
    console = Console()
    if not console.is_terminal:
        # Piped or redirected: no screen to fit, so print every column whole.
        wide = console.options.update(max_width=100_000)
        console = Console(width=console.measure(table, options=wide).maximum)
    console.print(table)


def _shown(cell: Cell, metric: Metric) -> str:
    """A cell for people: money to 2 places, percentages to 2 places, bytes with separators."""
    if metric is Metric.BYTES:
        return f"{cell:,}"
    shown = f"{round_half_up(Decimal(cell), 2):,f}"
    return shown + " %" if metric is Metric.PERCENTAGE else shown
