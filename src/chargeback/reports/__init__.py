"""Reports: the one report engine. Periods, buckets in a time zone, views, totals, sort, filter,
CSV export. Imports usage, pricing, store and errors; nothing above it.

`build_report(store, query) -> Report` is the only way to make a report and
`export.to_csv(report) -> ExportFile` the only way to make a CSV.
"""

from chargeback.reports._model import (
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

__all__ = [
    "SERVICE_ACCOUNT_COLUMN",
    "TOTAL_COLUMN",
    "Bucket",
    "Cell",
    "Metric",
    "PeriodName",
    "Report",
    "ReportQuery",
    "ReportRow",
    "SortOrder",
    "Tab",
]
