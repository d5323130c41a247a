"""The report as a terminal table that fits the screen and never cuts a value.

A table of every bucket is often far wider than a terminal (30 daily columns need about 400
characters), and rich, left to itself, squeezes such a table until its numbers read `0.…`. So
this module lays the table out itself: every number and column label keeps its full width, a
service account name may wrap, and when not every bucket fits, the latest buckets that fit are
shown beside Total, followed by a line naming the buckets left out and how to see them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from chargeback.pricing import round_half_up
from chargeback.reports import Cell, Metric, Report, Tab, is_daily

_TAB_TITLES = {Tab.OVERALL: "Overall Cost", Tab.INGRESS: "Ingress", Tab.EGRESS: "Egress"}
# The currencies whose usual decimals are not 2, as browsers' Intl (CLDR data) has them: the
# console's page rounds money to these, and the terminal must read the same (a browser test
# compares this with Chromium's Intl for every currency a price may be given in).
CURRENCY_DECIMALS = {
    "CLP": 0, "COP": 0, "HUF": 0, "IDR": 0, "ISK": 0, "JPY": 0, "KRW": 0, "KWD": 3, "PKR": 0,
    "RSD": 0, "VND": 0,
}  # fmt: skip
_USUAL_DECIMALS = 2
# An amount that would read as zero shows this many significant digits instead.
_SMALL_AMOUNT_DIGITS = 2
NAME_HEADER = "Service account"
TOTAL_HEADER = "Total"
# A longer name wraps rather than costing a bucket column; a shorter one never wraps.
NAME_MIN_WIDTH = 20
# rich's default table: a space of padding either side of each cell, and a border line between
# cells and at both edges.
_CELL_PADDING = 2
_BORDER = 1


@dataclass(frozen=True, slots=True)
class _Column:
    """One column as text: header, a cell per row, footer (the totals line)."""

    header: str
    cells: tuple[str, ...]
    footer: str

    @property
    def width(self) -> int:
        """The width its longest text needs."""
        return max(cell_len(text) for text in (self.header, self.footer, *self.cells))


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the table shows: names `name_width` wide, the latest buckets that fit, Total."""

    names: _Column
    name_width: int
    buckets: list[_Column]
    total: _Column
    left_out: int

    @property
    def width(self) -> int:
        """The whole table's width."""
        return table_width([self.name_width, *(c.width for c in (*self.buckets, self.total))])


def print_report_table(console: Console, report: Report, *, is_wide: bool = False) -> None:
    """Print `report` as a table that fits `console.width` (`is_wide`: every bucket, however
    wide), then, if buckets were left out, a line naming them.
    """
    layout = _layout(report, None if is_wide else console.width)
    console.print(_table(report, layout), crop=False)
    if layout.left_out:
        # Plain words: without highlight=False, rich recolours its numbers and dates piecewise.
        console.print(left_out_note(report, layout.left_out), highlight=False, markup=False)


def left_out_note(report: Report, left_out: int) -> str:
    """What a table without the first `left_out` buckets misses, and how to see everything."""
    hidden = report.buckets[:left_out]
    unit = "days" if is_daily(report.query.period) else "months"
    if len(hidden) == 1:
        missing = f"{hidden[0].label} is"
    else:
        missing = f"{hidden[0].label} to {hidden[-1].label} are"
    return (
        f"Showing the latest {len(report.buckets) - left_out} of {len(report.buckets)} {unit}; "
        f"{missing} left out here but included in Total. To see every one: --wide, a wider "
        "terminal, or --format csv or json."
    )


def table_width(column_widths: list[int]) -> int:
    """The characters a table with columns of these content widths takes, borders included.

    >>> table_width([15, 10, 5])
    40
    """
    return sum(w + _CELL_PADDING for w in column_widths) + _BORDER * (len(column_widths) + 1)


def _layout(report: Report, width: int | None) -> _Layout:
    """Every bucket (`width` None), or the latest ones that fit `width` with names and Total."""
    names = _Column(NAME_HEADER, tuple(row.service_account for row in report.rows), TOTAL_HEADER)
    buckets = [
        _Column(bucket.label, _texts((row.cells[index] for row in report.rows), report), total)
        for index, (bucket, total) in enumerate(
            zip(report.buckets, _texts(report.column_totals, report), strict=True)
        )
    ]
    total = _Column(
        TOTAL_HEADER,
        _texts((row.total for row in report.rows), report),
        _shown(report.grand_total, report),
    )
    if width is None:
        return _Layout(names, names.width, buckets, total, left_out=0)
    narrowest_names = min(names.width, NAME_MIN_WIDTH)
    shown = list(buckets)
    while shown and table_width([narrowest_names, *(c.width for c in (*shown, total))]) > width:
        shown.pop(0)
    spare = width - table_width([0, *(c.width for c in (*shown, total))])
    name_width = max(narrowest_names, min(names.width, spare))
    return _Layout(names, name_width, shown, total, left_out=len(buckets) - len(shown))


def _table(report: Report, layout: _Layout) -> Table:
    # Text, not str: a name like "[ops]" is a name, not rich markup.
    table = Table(title=Text(_title(report)), show_footer=True, width=layout.width)
    table.add_column(NAME_HEADER, footer=TOTAL_HEADER, width=layout.name_width, overflow="fold")
    numbers = [*layout.buckets, layout.total]
    for column in numbers:
        table.add_column(
            column.header, footer=column.footer, width=column.width, justify="right", no_wrap=True
        )
    for index, name in enumerate(layout.names.cells):
        table.add_row(Text(name), *(column.cells[index] for column in numbers))
    return table


def _title(report: Report) -> str:
    query = report.query
    shown_in = "% of the tab's total" if query.metric is Metric.PERCENTAGE else report.unit
    title = (
        f"{_TAB_TITLES[query.tab]} in {shown_in}, {report.first_day} to {report.last_day}"
        f" ({query.zone})"
    )
    return title + (f", cluster {query.cluster}" if query.cluster else "")


def _texts(cells: Iterable[Cell], report: Report) -> tuple[str, ...]:
    return tuple(_shown(cell, report) for cell in cells)


def _shown(cell: Cell, report: Report) -> str:
    """A cell for people: money as `money_text` says, percentages to 2 places, bytes with
    separators."""
    metric = report.query.metric
    if metric is Metric.BYTES:
        return f"{cell:,}"
    if metric is Metric.COST:
        return money_text(Decimal(cell), report.prices.currency)
    return f"{round_half_up(Decimal(cell), 2):,f} %"


def money_text(amount: Decimal, currency: str) -> str:
    """`amount` as the console's page shows it, without the currency sign: rounded half-up to
    the currency's usual decimals; an amount that is not zero but would read as zero that way
    shows its first two significant digits instead, also half-up (docs/user-guide/console.md).

    >>> money_text(Decimal("1234.565"), "USD"), money_text(Decimal("0.000092"), "USD")
    ('1,234.57', '0.000092')
    >>> money_text(Decimal("0.0000012345"), "USD"), money_text(Decimal("0.00499"), "USD")
    ('0.0000012', '0.0050')
    >>> money_text(Decimal("0"), "USD"), money_text(Decimal("0.4"), "JPY")
    ('0.00', '0.40')
    >>> money_text(Decimal("0.0000099999"), "USD")  # rounds up to the next power of ten
    '0.000010'
    >>> money_text(Decimal("0.35"), "KWD"), money_text(Decimal("1234.5"), "JPY")
    ('0.350', '1,235')
    """
    usual = round_half_up(amount, CURRENCY_DECIMALS.get(currency, _USUAL_DECIMALS))
    if usual != 0 or amount == 0:
        return f"{usual:,f}"
    # Trailing zeros stay (0.00020 beside 0.00019), as Intl's minimumSignificantDigits keeps
    # them on the page.
    places = _SMALL_AMOUNT_DIGITS - 1 - amount.adjusted()
    small = round_half_up(amount, places)
    if small.adjusted() > amount.adjusted():  # 0.0000099999 became 0.0000100: one digit less
        small = round_half_up(amount, places - 1)
    return f"{small:f}"
