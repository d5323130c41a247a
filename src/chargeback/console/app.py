"""`create_app(store, settings)`: the console's FastAPI application, wired once."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chargeback import __version__
from chargeback.console._metrics import ConsoleMetrics, MetricsMiddleware
from chargeback.console._settings import ConsoleSettings
from chargeback.console.api import PriceFieldsError, api_router, metrics_router, public_router
from chargeback.console.auth import SESSION_COOKIE, Authenticator, SessionCodec, session_secret
from chargeback.console.deps import ForbiddenError, NotAuthenticatedError, require_user
from chargeback.console.errors import SignInLockedError
from chargeback.console.web import STATIC_DIR, login_router, page_router
from chargeback.pricing import PricingError
from chargeback.reports import ReportError
from chargeback.store import Store, StoreError

_log = logging.getLogger(__name__)

# Paths that answer scripts (JSON, 401) rather than people (HTML, redirect to the login page).
_MACHINE_PREFIXES = ("/api/", "/metrics", "/openapi.json")
# Requests that the login page may send the browser back to once signed in.
_RETURNABLE_METHODS = ("GET", "HEAD")
_SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        b"form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def create_app(store: Store, settings: ConsoleSettings | None = None) -> FastAPI:
    """Build the console (page, API, login) over `store`.

    The session-signing secret is created on first use and kept in the store's settings, so
    sessions survive restarts and several console processes on one store agree.
    """
    settings = settings or ConsoleSettings()
    app = FastAPI(
        title="kafka-chargeback console",
        version=__version__,
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; the console serves no CDN code
        redoc_url=None,
        openapi_url=None,  # served below, behind sign-in
    )
    app.state.store = store
    app.state.settings = settings
    app.state.metrics = ConsoleMetrics()
    codec = SessionCodec(session_secret(store), settings.session_max_age_seconds)
    app.state.authenticator = Authenticator(store, codec)
    _add_routes(app)
    _add_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _add_routes(app: FastAPI) -> None:
    app.include_router(public_router)
    app.include_router(login_router)
    app.include_router(api_router)
    app.include_router(metrics_router)
    app.include_router(page_router)
    app.include_router(_openapi_router(app))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _openapi_router(app: FastAPI) -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(require_user)])

    @router.get("/openapi.json")
    def openapi_document() -> dict[str, Any]:
        """The OpenAPI document of the API, with its three ways to sign in."""
        return openapi_with_security(app)

    return router


def openapi_with_security(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document; every operation but /healthz requires one of the schemes."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, routes=app.routes)
        document.setdefault("components", {})["securitySchemes"] = {
            "bearerToken": {"type": "http", "scheme": "bearer", "description": "API token"},
            "basicAuth": {"type": "http", "scheme": "basic", "description": "user and password"},
            "sessionCookie": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
        }
        schemes: list[dict[str, list[str]]] = [
            {"bearerToken": []},
            {"basicAuth": []},
            {"sessionCookie": []},
        ]
        for path, operations in document["paths"].items():
            for operation in operations.values():
                operation["security"] = [] if path == "/healthz" else schemes
        app.openapi_schema = document
    return app.openapi_schema


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NotAuthenticatedError, _not_authenticated)
    app.add_exception_handler(ForbiddenError, _forbidden)
    app.add_exception_handler(ReportError, _unprocessable)
    app.add_exception_handler(PricingError, _unprocessable)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StoreError, _store_unavailable)
    app.add_exception_handler(SignInLockedError, _locked)


def _is_machine_path(path: str) -> bool:
    return path.startswith(_MACHINE_PREFIXES)


async def _not_authenticated(request: Request, error: Exception) -> Response:
    if _is_machine_path(request.url.path):
        # A Bearer challenge only: a Basic one would make browsers prompt and cache credentials.
        return JSONResponse(
            {"detail": "sign in: send an API token (Bearer), HTTP Basic, or a session cookie"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="chargeback"'},
        )
    login = request.url_for("login_form")
    if request.method not in _RETURNABLE_METHODS:
        # After sign-in the browser GETs `next`: a form's POST target would only answer 405.
        return RedirectResponse(login.path, status_code=303)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    back = login.include_query_params(next=target)
    return RedirectResponse(str(back.path) + "?" + back.query, status_code=303)


async def _forbidden(request: Request, error: Exception) -> Response:
    if _is_machine_path(request.url.path):
        return JSONResponse({"detail": str(error)}, status_code=403)
    return PlainTextResponse(f"Forbidden: {error}", status_code=403)


async def _unprocessable(request: Request, error: Exception) -> Response:
    body: dict[str, object] = {"detail": str(error)}
    if isinstance(error, PriceFieldsError):
        body["errors"] = error.errors
    return JSONResponse(body, status_code=422)


async def _locked(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInLockedError)
    return JSONResponse(
        {"detail": str(error)},
        status_code=429,
        headers={"Retry-After": str(error.retry_after_seconds)},
    )


async def _store_unavailable(request: Request, error: Exception) -> Response:
    # The store's message may name hosts and tables: it goes to the log, not to the browser.
    _log.error("store error path=%s error=%s", request.url.path, error)
    return JSONResponse(
        {"detail": "the store could not answer; the console's log says why"}, status_code=503
    )


async def _invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = [
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors()
    ]
    return JSONResponse({"detail": "; ".join(problems)}, status_code=422)


class SecurityHeadersMiddleware:
    """Adds a strict Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self._app(scope, receive, send_with_headers)
