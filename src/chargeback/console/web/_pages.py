"""The HTML routes: the Chargeback page, the login page, sign-out.

The page is a shell: its script reads the view from the URL and asks the API for it, so the
page and the API can never disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from chargeback.console.auth import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    new_csrf_token,
    tokens_match,
)
from chargeback.console.deps import (
    AuthenticatorDep,
    CurrentUser,
    SettingsDep,
    StoreDep,
    require_user,
)
from chargeback.console.errors import SignInLockedError
from chargeback.pricing import CURRENCY_CODES, GbUnit
from chargeback.reports import EARLIEST_AS_OF, LATEST_AS_OF, Metric, PeriodName, Tab
from chargeback.store import zone_names

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=TEMPLATES_DIR)

_TAB_LABELS = {Tab.OVERALL: "Overall Cost", Tab.INGRESS: "Ingress", Tab.EGRESS: "Egress"}

page_router = APIRouter(include_in_schema=False, dependencies=[Depends(require_user)])
login_router = APIRouter(include_in_schema=False)


@page_router.get("/", response_class=HTMLResponse)
def chargeback_page(
    request: Request, user: CurrentUser, store: StoreDep, settings: SettingsDep
) -> Response:
    """The Chargeback page: tabs, period, metric, zone, cluster, chart and table."""
    context = {
        "user": user,
        "tabs": [(tab.value, label) for tab, label in _TAB_LABELS.items()],
        "periods": [period.value for period in PeriodName],
        "metrics": [metric.value for metric in Metric],
        "clusters": store.clusters(),
        "zones": sorted(zone_names()),  # those the API accepts
        "currencies": sorted(CURRENCY_CODES),
        "gb_units": [unit.value for unit in GbUnit],
        "as_of_bounds": (EARLIEST_AS_OF.isoformat(), LATEST_AS_OF.isoformat()),
        "defaults": {
            "tab": settings.default_tab.value,
            "period": settings.default_period.value,
            "tz": settings.default_zone,
        },
    }
    return templates.TemplateResponse(request, "chargeback.html", context)


@page_router.post("/logout")
def logout(user: CurrentUser, authenticator: AuthenticatorDep) -> Response:
    """End `user`'s sessions, everywhere (the form carries the session's CSRF token).

    Every session, not only this browser's: session cookies are signed, not stored, so the
    only way to make a copied cookie useless is to retire its generation.
    """
    authenticator.end_sessions(user.name)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response


@login_router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    """The sign-in form, with a fresh login CSRF token (also kept in a cookie)."""
    return _login_page(request, settings, safe_next(next), error=None, status_code=200)


@login_router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    authenticator: AuthenticatorDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password; on success set the session cookie and go where the user was going."""
    target = safe_next(next)
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        error = "The sign-in form expired. Please try again."
        return _login_page(request, settings, target, error, status_code=403)
    try:
        user = authenticator.check_password(username, password)
    except SignInLockedError as locked:
        message = str(locked)
        sentence = message[:1].upper() + message[1:] + "."
        return _login_page(request, settings, target, sentence, status_code=429)
    if user is None:
        request.app.state.metrics.failed_logins.inc()
        error = "Wrong user name or password."
        return _login_page(request, settings, target, error, status_code=401)
    cookie_value, _ = authenticator.codec.issue(user, authenticator.session_generation(user.name))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie_value,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, httponly=True, samesite="strict")
    return response


def safe_next(target: str) -> str:
    """Where to go after signing in: a path on this site only (no open redirect).

    >>> safe_next("/?tab=ingress"), safe_next("//evil.example/"), safe_next("https://x/")
    ('/?tab=ingress', '/', '/')
    """
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _login_page(
    request: Request, settings: SettingsDep, target: str, error: str | None, status_code: int
) -> Response:
    token = new_csrf_token()
    context = {"csrf_field": CSRF_FIELD, "csrf_token": token, "next": target, "error": error}
    response = templates.TemplateResponse(request, "login.html", context, status_code=status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )
    return response
