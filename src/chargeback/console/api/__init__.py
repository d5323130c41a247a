"""The REST API (`/api/v1`): the chargeback view, its CSV export, prices; plus service routes.

Every route here needs a signed-in user (router dependency); only admins change prices.
"""

from fastapi import APIRouter, Depends

from chargeback.console.api._chargeback import router as _chargeback_router
from chargeback.console.api._models import ErrorOut, PricesIn, PricesOut, ReportOut, report_out
from chargeback.console.api._pricing import PriceFieldsError
from chargeback.console.api._pricing import router as _pricing_router
from chargeback.console.api._service import metrics_router, public_router
from chargeback.console.deps import require_user

api_router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_user)])
api_router.include_router(_chargeback_router)
api_router.include_router(_pricing_router)

__all__ = [
    "ErrorOut",
    "PriceFieldsError",
    "PricesIn",
    "PricesOut",
    "ReportOut",
    "api_router",
    "metrics_router",
    "public_router",
    "report_out",
]
