"""`chargeback report` (a table, CSV or JSON on stdout) and `chargeback export` (the CSV file
the console's Export button downloads). Both only parse options, call the report engine and
print what it returns.
"""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from chargeback.cli._console import plain_console
from chargeback.cli._demo import default_data_dir
from chargeback.cli._settings import (
    EXIT_ERROR,
    EXIT_USAGE,
    clean_errors,
    fail,
    open_store_from_context,
    settings_from_context,
)
from chargeback.cli._table import print_report_table
from chargeback.console import ConsoleSettings
from chargeback.console.api import report_out
from chargeback.demo import STORE_FILE_NAME, store_url
from chargeback.reports import Report, ReportQuery, build_report, parse_query, to_csv
from chargeback.store import Store


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
    typer.Option(
        "--as-of", metavar="YYYY-MM-DD", help="Last day of the period.", show_default="today"
    ),
]
ZoneOption = Annotated[
    str | None,
    typer.Option(
        "--tz",
        metavar="ZONE",
        help="IANA time zone whose days (and months) make the columns.",
        show_default="the timezone setting, UTC",
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
        help="Sort by service_account, total or a column label such as 2026-03-09.",
        show_default="total:desc",
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster", metavar="NAME", help="Only this cluster.", show_default="all, summed"
    ),
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
            help="What the cells hold; the overall tab offers cost and percentage.",
            show_default="cost",
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
            "--format",
            metavar="table|csv|json",
            help="table: for people; csv: what export writes; json: what the REST API returns.",
        ),
    ] = OutputFormat.TABLE,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide",
            help="Table: show every column, however wide (by default only the latest columns "
            "that fit the terminal or COLUMNS are shown).",
        ),
    ] = False,
) -> None:
    """Show the chargeback report of one tab and period."""
    query = _query(ctx, tab, period, metric, as_of, tz, filter_text, sort, cluster)
    store = open_store_from_context(ctx)
    result = build_report(store, query)
    _note_if_empty(result, store)
    if output_format is OutputFormat.CSV:
        typer.echo(to_csv(result).content, nl=False)
    elif output_format is OutputFormat.JSON:
        typer.echo(json.dumps(api_document(result), ensure_ascii=False, indent=2))
    else:
        print_report_table(plain_console(), result, is_wide=wide)


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
            help="Directory to write the file into; created if missing.",
            show_default="the current directory",
        ),
    ] = Path("."),
) -> None:
    """Write the report as CSV (Chargeback_<first day>_<last day>_<Tab>.csv) into DIR and
    print the file's path.
    """
    query = _query(ctx, tab, period, None, as_of, tz, filter_text, sort, cluster)
    store = open_store_from_context(ctx)
    result = build_report(store, query)
    _note_if_empty(result, store)
    export_file = to_csv(result)
    _make_directory(output)
    path = output / export_file.filename
    _write_atomically(path, export_file.content)
    typer.echo(str(path))


def api_document(result: Report) -> dict[str, Any]:
    """`result` as the REST API's `GET /api/v1/chargeback` returns it, chart series included.

    The console's own model makes it, so the CLI's JSON and the API's are one document.
    """
    document = report_out(result, ConsoleSettings().chart_top_accounts)
    return document.model_dump(mode="json")


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


def _note_if_empty(result: Report, store: Store) -> None:
    """Say on stderr (stdout may be a CSV or JSON document) which store and days had no usage."""
    if result.rows:
        return
    query = result.query
    selection = "".join(
        (
            f" of cluster {query.cluster!r}" if query.cluster else "",
            f" matching {query.filter_text!r}" if query.filter_text else "",
        )
    )
    note = (
        f"note: no usage{selection} from {result.first_day} to {result.last_day} ({query.zone}) "
        f"in the store {store.url}"
    )
    demo_url = store_url(default_data_dir())
    if (default_data_dir() / STORE_FILE_NAME).exists() and store.url != demo_url:
        note += f"; the demo keeps its data in its own store: chargeback --db {demo_url} ..."
    typer.echo(note, err=True)


def _make_directory(directory: Path) -> None:
    """Create `directory` and its parents if missing (like `mkdir -p`)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        fail(f"--output {directory}: a file stands where a directory must be", EXIT_USAGE)
    except OSError as error:
        fail(f"--output {directory}: cannot create the directory: {error.strerror}", EXIT_ERROR)


def _write_atomically(path: Path, content: bytes) -> None:
    # A reader (or a crash) never sees half a file: write beside it, then rename over it.
    # os.open with 0o666 rather than mkstemp (0o600): the file gets the permissions the user's
    # umask gives any new file, so a shared reports folder stays readable by the team.
    temporary = path.parent / f".chargeback-{secrets.token_hex(8)}.csv"
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        fail(f"--output {path.parent}: cannot write there: {error.strerror}", EXIT_ERROR)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
