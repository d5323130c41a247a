"""The console's request dependencies, each named once as an `Annotated` alias.

Routers that need a signed-in user declare `Depends(require_user)` for every route they hold,
so a new route cannot forget it; `AdminUser` narrows a route to admins.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Query, Request

from chargeback.console._settings import ConsoleSettings
from chargeback.console.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Authenticator,
    AuthMethod,
    Identity,
    tokens_match,
)
from chargeback.reports import ReportQuery, parse_query
from chargeback.store import Store

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class NotAuthenticatedError(Exception):
    """No valid credentials: API routes answer 401, pages send the browser to the login page."""


class ForbiddenError(Exception):
    """Valid credentials, but not allowed: a viewer changing prices, or a missing CSRF token."""


def get_store(request: Request) -> Store:
    """The store this app serves."""
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> ConsoleSettings:
    """The settings this app was created with."""
    settings: ConsoleSettings = request.app.state.settings
    return settings


def get_authenticator(request: Request) -> Authenticator:
    """The app's authenticator (store users and tokens, session codec)."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[ConsoleSettings, Depends(get_settings)]
AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]


async def given_csrf_token(request: Request) -> str | None:
    """The CSRF token a request carries: the X-CSRF-Token header, or a form's csrf_token field.

    Async only to read a form body; the form stays cached on the request for the route.
    """
    header = request.headers.get(CSRF_HEADER)
    if header is not None or request.method in _SAFE_METHODS:
        return header
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        field = (await request.form()).get(CSRF_FIELD)
        return field if isinstance(field, str) else None
    return None


def require_user(
    request: Request,
    authenticator: AuthenticatorDep,
    csrf_token: Annotated[str | None, Depends(given_csrf_token)],
) -> Identity:
    """The signed-in user of this request.

    Raises:
        NotAuthenticatedError: no credentials, or invalid ones.
        ForbiddenError: a session-authenticated unsafe request without the session's CSRF token.
    """
    identity = _identify(request, authenticator)
    if identity is None:
        raise NotAuthenticatedError
    is_unsafe_session = (
        identity.method is AuthMethod.SESSION and request.method not in _SAFE_METHODS
    )
    if is_unsafe_session and not tokens_match(identity.csrf_token, csrf_token):
        raise ForbiddenError(f"missing or wrong CSRF token: send the {CSRF_HEADER} header")
    return identity


CurrentUser = Annotated[Identity, Depends(require_user)]


def require_admin(identity: CurrentUser) -> Identity:
    """The signed-in user, who must be an admin.

    Raises:
        ForbiddenError: the user is a viewer.
    """
    if not identity.is_admin:
        raise ForbiddenError(f"user {identity.name!r} is a viewer: only admins may do this")
    return identity


AdminUser = Annotated[Identity, Depends(require_admin)]


def _identify(request: Request, authenticator: Authenticator) -> Identity | None:
    """Check the Authorization header if there is one (never falling back), else the cookie."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return authenticator.by_token(credentials.strip())
        if scheme.lower() == "basic":
            pair = _basic_pair(credentials.strip())
            return authenticator.by_basic(*pair) if pair else None
        return None
    cookie = request.cookies.get(SESSION_COOKIE)
    return authenticator.by_session(cookie) if cookie else None


def _basic_pair(credentials: str) -> tuple[str, str] | None:
    """Decode `user:password` from HTTP Basic credentials (UTF-8, RFC 7617), or None."""
    try:
        text = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user_name, separator, password = text.partition(":")
    return (user_name, password) if separator else None


def report_query(
    settings: SettingsDep,
    tab: Annotated[str | None, Query(description="overall, ingress or egress")] = None,
    period: Annotated[str | None, Query(description="7D, 30D, 6M, 12M or YTD")] = None,
    metric: Annotated[
        str | None, Query(description="cost, bytes or percentage (Overall: cost, percentage)")
    ] = None,
    as_of: Annotated[
        str | None, Query(alias="asOf", description="last day of the period, YYYY-MM-DD")
    ] = None,
    tz: Annotated[str | None, Query(description="IANA time zone of the report")] = None,
    filter_text: Annotated[
        str | None, Query(alias="filter", description="case-insensitive substring of names")
    ] = None,
    sort: Annotated[
        str | None, Query(description="COLUMN[:asc|:desc]: service_account, total or a bucket")
    ] = None,
    cluster: Annotated[str | None, Query(description="one cluster; all when absent")] = None,
) -> ReportQuery:
    """The view the query parameters select; bad values raise `ReportError` (answered 422)."""
    return parse_query(
        tab or settings.default_tab.value,
        period or settings.default_period.value,
        metric or None,
        as_of,
        tz or settings.default_zone,
        filter_text,
        sort,
        cluster,
    )


ReportQueryDep = Annotated[ReportQuery, Depends(report_query)]
