"""Reports: the one report engine. Periods, buckets in a time zone, views, totals, sort, filter,
CSV export. Imports usage, pricing, store and errors; nothing above it.

`build_report(store, query) -> Report` is the only way to make a report and
`export.to_csv(report) -> ExportFile` the only way to make a CSV; `chart_series(report, n)`
is the report's chart (the n largest accounts, the rest summed into "Other"). `parse_query`
turns user input into a `ReportQuery`, raising `ReportError` with a message that names the bad
value.
"""

from chargeback.reports._chart import OTHER_SERIES, ChartSeries, chart_series
from chargeback.reports._engine import build_report, check_query, name_key
from chargeback.reports._model import (
    EARLIEST_AS_OF,
    LATEST_AS_OF,
    SERVICE_ACCOUNT_COLUMN,
    TOTAL_COLUMN,
    Bucket,
    Cell,
    Metric,
    PeriodName,
    Report,
    ReportQuery,
    ReportRow,
    SortOrder,
    Tab,
)
from chargeback.reports._periods import is_daily, period_buckets
from chargeback.reports._query import DEFAULT_ZONE, parse_query, parse_sort, parse_zone
from chargeback.reports._source import UsageGridLike, UsageSource
from chargeback.reports.errors import ReportError
from chargeback.reports.export import ExportFile, to_csv

__all__ = [
    "DEFAULT_ZONE",
    "EARLIEST_AS_OF",
    "LATEST_AS_OF",
    "OTHER_SERIES",
    "SERVICE_ACCOUNT_COLUMN",
    "TOTAL_COLUMN",
    "Bucket",
    "Cell",
    "ChartSeries",
    "ExportFile",
    "Metric",
    "PeriodName",
    "Report",
    "ReportError",
    "ReportQuery",
    "ReportRow",
    "SortOrder",
    "Tab",
    "UsageGridLike",
    "UsageSource",
    "build_report",
    "chart_series",
    "check_query",
    "is_daily",
    "name_key",
    "parse_query",
    "parse_sort",
    "parse_zone",
    "period_buckets",
    "to_csv",
]
