"""CSV export of a report (spec section 5). `to_csv` is the only way to make a CSV.

Decisions where the spec is silent: no totals row (the file holds "exactly the rows of the
current view"), no byte-order mark, and CRLF line ends as RFC 4180 and the csv module write them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from chargeback.pricing import round_half_up
from chargeback.reports._model import Cell, Report, ReportRow, Tab

COST_DECIMAL_PLACES = 6
# Spreadsheets treat a cell starting with one of these as a formula (CWE-1236).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TAB_FILE_NAMES = {Tab.OVERALL: "OverallCost", Tab.INGRESS: "Ingress", Tab.EGRESS: "Egress"}


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A finished export: the file name the spec prescribes and the UTF-8 bytes."""

    filename: str
    content: bytes


def to_csv(report: Report) -> ExportFile:
    """Write `report` as the spec's CSV: cost on Overall Cost, bytes on Ingress and Egress."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)  # excel dialect: RFC 4180 quoting, CRLF line ends
    writer.writerow(["Service account", *(b.label for b in report.buckets), "Total"])
    for row in _export_rows(report):
        writer.writerow(
            [_text_cell(row.service_account), *map(_number, row.cells), _number(row.total)]
        )
    return ExportFile(filename=export_filename(report), content=buffer.getvalue().encode("utf-8"))


def export_filename(report: Report) -> str:
    """`Chargeback_<first day>_<last day>_<Tab>.csv`.

    Raises nothing; every tab has a file name.
    """
    first, last = report.first_day.isoformat(), report.last_day.isoformat()
    return f"Chargeback_{first}_{last}_{_TAB_FILE_NAMES[report.query.tab]}.csv"


def _export_rows(report: Report) -> tuple[ReportRow, ...]:
    return report.rows if report.export_rows is None else report.export_rows


def _number(cell: Cell) -> str:
    """Bytes as a plain integer, money with 6 decimal places, rounded half-up."""
    if isinstance(cell, Decimal):
        return f"{round_half_up(cell, COST_DECIMAL_PLACES):f}"
    return str(cell)


def _text_cell(text: str) -> str:
    """Defuse formula starts with a leading apostrophe, also behind leading whitespace.

    Some spreadsheet programs trim a cell before deciding that it is a formula, so " =1+1"
    is defused like "=1+1" (spec section 5's list, checked at the first non-whitespace
    character too).

    >>> _text_cell("=SUM(A1)"), _text_cell(" =1+1"), _text_cell(" team-a")
    ("'=SUM(A1)", "' =1+1", ' team-a')
    """
    if text.startswith(_FORMULA_STARTS) or text.lstrip().startswith(_FORMULA_STARTS):
        return "'" + text
    return text
