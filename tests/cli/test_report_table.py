"""`chargeback report`'s table fits the terminal and never cuts a value.

The report comes from the engine over a real store; these tests only look at how it is drawn,
at fixed widths, with rich's own Console writing into a string.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from tests.cli.conftest import Invoke

from chargeback.cli._table import print_report_table
from chargeback.pricing import parse_prices
from chargeback.reports import Report, build_report, parse_query
from chargeback.store import Store, open_store
from chargeback.usage import ClusterName, Direction, Principal, TopicName, UsageRecord

AS_OF = date(2026, 3, 10)
FIRST_DAY = date(2026, 2, 9)  # 30 days up to AS_OF
DAYS = [FIRST_DAY + timedelta(days=n) for n in range(30)]
LONG_NAME = "data platform team nightly reconciliation"
# Every day: payments produces 12,345 GB (x 0.10 USD = 1,234.50), the long-named account
# consumes 1,000 GB (x 0.05 USD = 50.00).
PAYMENTS_DAY, LONG_DAY = "1,234.50", "50.00"
PAYMENTS_TOTAL, LONG_TOTAL = "37,035.00", "1,500.00"  # 30 x 1,234.50 and 30 x 50.00
DAY_TOTAL, GRAND_TOTAL = "1,284.50", "38,535.00"
GB = 1_000_000_000
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _records() -> Iterator[UsageRecord]:
    for day in DAYS:
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        for account, direction, gigabytes in (
            ("payments", Direction.INGRESS, 12_345),
            (LONG_NAME, Direction.EGRESS, 1_000),
        ):
            yield UsageRecord(
                ClusterName("east"),
                Principal(account),
                TopicName("orders"),
                direction,
                noon,
                gigabytes * GB,
            )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'table.db'}")
    opened.write_usage("thirty-days", list(_records()))
    opened.set_prices(parse_prices(ingress_per_gb="0.10", egress_per_gb="0.05", currency="USD"))
    yield opened
    opened.close()


def _report(store: Store) -> Report:
    query = parse_query("overall", "30D", None, AS_OF.isoformat(), "UTC", None, None, None)
    return build_report(store, query)


def _render(report: Report, width: int, *, is_wide: bool = False) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    print_report_table(console, report, is_wide=is_wide)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    return [line.rstrip() for line in output.splitlines()]


def _numbers(lines: list[str], row_start: str) -> list[str]:
    """The number cells of the row whose first line starts with `row_start`, as printed."""
    line = next(line for line in lines if line.startswith(row_start))
    return [cell.strip() for cell in line.split("│")[2:-1]]


def _shown_days(lines: list[str]) -> list[str]:
    header = next(line for line in lines if "Service" in line)
    return DATE.findall(header)


@pytest.mark.parametrize("width", [60, 100, 200])
def test_the_table_fits_the_width_and_cuts_no_value(store: Store, width: int) -> None:
    # Given the report of 30 days for two accounts
    report = _report(store)

    # When it is drawn at this width
    lines = _render(report, width)

    # Then no line is wider, nothing is elided, and every shown number is whole
    text = "\n".join(lines)
    assert max(cell_len(line) for line in lines) <= width, text
    assert "…" not in text
    shown = _shown_days(lines)
    assert _numbers(lines, "│ payments") == [PAYMENTS_DAY] * len(shown) + [PAYMENTS_TOTAL]
    assert _numbers(lines, "│ data platform") == [LONG_DAY] * len(shown) + [LONG_TOTAL]
    assert _numbers(lines, "│ Total") == [DAY_TOTAL] * len(shown) + [GRAND_TOTAL]
    assert set(LONG_NAME.split()) <= set(text.split())


@pytest.mark.parametrize("width", [60, 100, 200])
def test_the_table_shows_the_latest_days_that_fit_and_names_the_others(
    store: Store, width: int
) -> None:
    # Given the report of 30 days, more than any of these widths holds
    report = _report(store)

    # When it is drawn at this width
    lines = _render(report, width)

    # Then it shows the latest days in order, as many as fit, and names the days left out
    shown = _shown_days(lines)
    expected_days = [d.isoformat() for d in DAYS[len(DAYS) - len(shown) :]]
    table_width = max(cell_len(line) for line in lines if line.startswith(("┏", "└")))
    one_more_column = len("2026-03-09") + 3  # label, padding, border
    first_shown = date.fromisoformat(shown[0])
    bottom = max(index for index, line in enumerate(lines) if line.startswith("└"))
    note = " ".join(lines[bottom + 1 :])
    assert shown == expected_days
    assert 0 < len(shown) < len(DAYS)
    assert table_width + one_more_column > width
    assert f"Showing the latest {len(shown)} of 30 days" in note
    assert f"{FIRST_DAY} to {first_shown - timedelta(days=1)} are left out" in note
    assert "To see every one: --wide, a wider terminal, or --format csv or json." in note


def test_wide_shows_every_day_however_narrow_the_console(store: Store) -> None:
    # Given the report of 30 days
    report = _report(store)

    # When it is drawn wide on an 80-column console
    lines = _render(report, 80, is_wide=True)

    # Then all 30 days are there, each with its whole numbers, and nothing is said left out
    assert _shown_days(lines) == [d.isoformat() for d in DAYS]
    assert "…" not in "\n".join(lines)
    assert not any("left out" in line for line in lines)
    assert _numbers(lines, "│ Total") == [DAY_TOTAL] * 30 + [GRAND_TOTAL]


def test_report_output_that_is_not_a_terminal_fits_columns(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given usage on 30 days and a COLUMNS of 100 (CliRunner's stdout is no terminal)
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "timestamp,cluster,service_account,topic,direction,bytes\n"
        + "".join(f"{day}T12:00:00Z,east,payments,orders,ingress,{GB}\n" for day in DAYS),
        encoding="utf-8",
    )
    invoke("usage", "import", str(usage))
    monkeypatch.setenv("COLUMNS", "100")

    # When the 30-day report is printed as a table
    result = invoke("report", "--tab", "ingress", "--metric", "bytes", "--as-of", str(AS_OF))

    # Then it is no wider than COLUMNS, shows the last day whole and says what it left out
    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.output
    assert max(cell_len(line) for line in lines) <= 100, result.stdout
    assert "2026-03-10" in _shown_days(lines)
    assert "30,000,000,000" in result.stdout  # the total: 30 days x 1 GB
    assert "left out here but included in Total" in result.stdout


def _one_week_store(tmp_path: Path, currency: str) -> Store:
    """quiet produced 920,000 bytes and busy 12,345,678,900 bytes on AS_OF, nothing else."""
    store = open_store(f"sqlite:///{tmp_path / f'week-{currency}.db'}")
    noon = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 12, tzinfo=UTC)
    store.write_usage(
        "one-week",
        [
            UsageRecord(
                ClusterName("demo"), Principal(name), TopicName("t"), Direction.INGRESS, noon, size
            )
            for name, size in (("quiet", 920_000), ("busy", 12_345_678_900))
        ],
    )
    store.set_prices(parse_prices(ingress_per_gb="0.10", currency=currency))
    return store


# At 0.10 per GB: quiet costs 0.000092, busy 1.23456789, together 1.23465989.
@pytest.mark.parametrize(
    ("currency", "zero", "quiet", "busy", "together"),
    [
        ("USD", "0.00", "0.000092", "1.23", "1.23"),
        ("JPY", "0", "0.000092", "1", "1"),
        ("KWD", "0.000", "0.000092", "1.235", "1.235"),
    ],
)
def test_amounts_below_what_the_currency_shows_read_with_two_significant_digits(
    tmp_path: Path, currency: str, zero: str, quiet: str, busy: str, together: str
) -> None:
    # Given a week in which only today has usage, a tiny one and a large one
    store = _one_week_store(tmp_path, currency)
    query = parse_query("overall", "7D", None, AS_OF.isoformat(), "UTC", None, None, None)
    report = build_report(store, query)
    store.close()

    # When the table is drawn with room for every day
    lines = _render(report, 200)

    # Then the tiny amount shows its digits, the others the currency's usual decimals
    assert _numbers(lines, "│ quiet") == [zero] * 6 + [quiet, quiet]
    assert _numbers(lines, "│ busy") == [zero] * 6 + [busy, busy]
    assert _numbers(lines, "│ Total") == [zero] * 6 + [together, together]


def test_the_note_on_left_out_days_is_plain_text_in_a_colour_terminal(store: Store) -> None:
    # Given a colour terminal too narrow for 30 days
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="truecolor")

    # When the table is printed
    print_report_table(console, _report(store))

    # Then the note below it carries no colour codes (rich would highlight its dates)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    note = output[output.rindex("┘") + 1 :]
    assert "Showing the latest" in note
    assert "\x1b[" not in note
