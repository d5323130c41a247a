"""`/api/v1/chargeback`: one view as JSON, and its CSV export (spec sections 4 and 5)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chargeback.console.api._models import ErrorOut, ReportOut, report_out
from chargeback.console.deps import ReportQueryDep, SettingsDep, StoreDep
from chargeback.reports import build_report
from chargeback.reports.export import to_csv

router = APIRouter(tags=["chargeback"])

_REFUSALS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "not signed in"},
    422: {"model": ErrorOut, "description": "a bad parameter; `detail` names it"},
}


@router.get("/chargeback", responses=_REFUSALS)
def chargeback_view(query: ReportQueryDep, store: StoreDep, settings: SettingsDep) -> ReportOut:
    """The view the parameters select: buckets, rows (filtered, sorted), totals, chart series."""
    return report_out(build_report(store, query), settings.chart_top_accounts)


@router.get(
    "/chargeback/export",
    responses={**_REFUSALS, 200: {"content": {"text/csv": {}}, "description": "the CSV file"}},
    response_class=Response,
)
def chargeback_export(query: ReportQueryDep, store: StoreDep) -> Response:
    """The view as the spec's CSV file, named in `Content-Disposition`."""
    export = to_csv(build_report(store, query))
    return Response(
        content=export.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
