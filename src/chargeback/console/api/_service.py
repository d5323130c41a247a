"""Routes for operators: `/healthz` (public) and Prometheus `/metrics` (signed in)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from chargeback.console.deps import StoreDep, require_user

public_router = APIRouter(tags=["service"])
metrics_router = APIRouter(tags=["service"], dependencies=[Depends(require_user)])


@public_router.get("/healthz")
def healthz(store: StoreDep) -> dict[str, str]:
    """Liveness and store reachability; needs no sign-in (load balancers call it)."""
    store.get_setting("console.healthz")
    return {"status": "ok"}


@metrics_router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 401: {"description": "not signed in"}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics of this console: requests by route and status, durations."""
    body = generate_latest(request.app.state.metrics.registry)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
