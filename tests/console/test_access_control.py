"""Every route refuses anonymous users; viewers cannot change prices; admins can.

The walk takes its routes from the OpenAPI document and the app's route table, so a route
added later is checked without anyone remembering to list it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chargeback.console.web import STATIC_DIR
from tests.console.conftest import (
    ADMIN,
    ADMIN_HEADERS,
    ADMIN_PASSWORD,
    VIEWER_HEADERS,
    sign_in,
)

# Routes that are public on purpose (the issue: login page, /healthz, static files).
PUBLIC_ROUTES = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login")}
# Routes outside the OpenAPI document (HTML pages and the document itself).
NON_OPENAPI_ROUTES = {
    ("GET", "/"),
    ("POST", "/logout"),
    ("GET", "/openapi.json"),
    ("GET", "/login"),
    ("POST", "/login"),
}
ADMIN_ONLY_ROUTES = {("PUT", "/api/v1/pricing")}
MACHINE_PREFIXES = ("/api/", "/metrics", "/openapi.json")
VALID_PRICES = {"ingress_per_gb": "0.01"}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers, static files aside.

    FastAPI keeps included routers nested; their effective routes carry the full path.
    """
    routes: set[tuple[str, str]] = set()
    for route in app.routes:
        for context in getattr(route, "effective_route_contexts", lambda: [])():
            for method in getattr(context.original_route, "methods", set()):
                routes.add((method, context.path))
    assert routes, "the route table could not be read: FastAPI's internals changed"
    return routes


async def openapi_routes(client: httpx.AsyncClient) -> set[tuple[str, str]]:
    document = (await client.get("/openapi.json", headers=ADMIN_HEADERS)).json()
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }


async def call(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"json": VALID_PRICES} if method == "PUT" else {}
    return await client.request(method, path, headers=headers, **body)


async def test_every_route_is_in_the_openapi_document_or_known_to_this_test(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # Given
    documented = await openapi_routes(client)
    # When
    undeclared = app_routes(app) - documented - NON_OPENAPI_ROUTES
    # Then
    assert undeclared == set()


async def test_every_route_but_the_public_ones_refuses_anonymous_requests(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # Given
    routes = sorted(app_routes(app) - PUBLIC_ROUTES)
    # When
    answers = {route: await call(client, *route) for route in routes}
    # Then
    for (method, path), answer in answers.items():
        if path.startswith(MACHINE_PREFIXES):
            assert answer.status_code == 401, (method, path)
            assert answer.headers["WWW-Authenticate"] == 'Bearer realm="chargeback"'
        else:
            assert answer.status_code == 303, (method, path)
            back = "/login?next=" if method == "GET" else "/login"
            assert answer.headers["Location"].startswith(back), (method, path)


async def test_anonymous_api_refusals_never_challenge_for_basic_credentials(
    client: httpx.AsyncClient,
) -> None:
    # Given a browser would prompt for, and then cache, Basic credentials if challenged
    # When
    answer = await client.get("/api/v1/chargeback")
    # Then
    assert "basic" not in answer.headers["WWW-Authenticate"].lower()


async def test_public_routes_answer_anonymous_requests(client: httpx.AsyncClient) -> None:
    # When
    answers = [await client.get("/healthz"), await client.get("/login")]
    # Then
    assert [answer.status_code for answer in answers] == [200, 200]


async def test_static_files_need_no_sign_in(client: httpx.AsyncClient) -> None:
    # When
    answer = await client.get("/static/vendor/echarts/echarts.min.js")
    # Then
    assert answer.status_code == 200
    assert answer.content == (STATIC_DIR / "vendor/echarts/echarts.min.js").read_bytes()


async def test_a_viewer_may_read_every_documented_route_but_not_change_prices(
    client: httpx.AsyncClient,
) -> None:
    # Given
    routes = sorted(await openapi_routes(client))
    # When
    answers = {route: await call(client, *route, headers=VIEWER_HEADERS) for route in routes}
    # Then
    for route, answer in answers.items():
        expected = 403 if route in ADMIN_ONLY_ROUTES else 200
        assert answer.status_code == expected, (route, answer.text)


async def test_an_admin_may_use_every_documented_route(client: httpx.AsyncClient) -> None:
    # Given
    routes = sorted(await openapi_routes(client))
    # When
    answers = {route: await call(client, *route, headers=ADMIN_HEADERS) for route in routes}
    # Then
    assert {route: answer.status_code for route, answer in answers.items()} == dict.fromkeys(
        routes, 200
    )


async def test_a_viewer_is_told_why_prices_cannot_be_changed(client: httpx.AsyncClient) -> None:
    # When
    answer = await client.put("/api/v1/pricing", json=VALID_PRICES, headers=VIEWER_HEADERS)
    # Then
    assert answer.status_code == 403
    assert answer.json() == {"detail": "user 'vic' is a viewer: only admins may do this"}


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer cbt_not-a-real-token",
        "Bearer ",
        "Basic !!!not-base64!!!",
        "Basic dmljOndyb25nLXBhc3N3b3Jk",  # vic:wrong-password
        "Basic bm9ib2R5OmFueXRoaW5nLWF0LWFsbA==",  # nobody:anything-at-all
        "Basic dmljdmljLXBhc3N3b3JkLTE=",  # "vicvic-password-1": no colon
        "Digest username=vic",
    ],
)
async def test_bad_credentials_are_refused(client: httpx.AsyncClient, authorization: str) -> None:
    # When
    answer = await client.get("/api/v1/pricing", headers={"Authorization": authorization})
    # Then
    assert answer.status_code == 401


async def test_a_bad_authorization_header_is_refused_even_with_a_valid_session(
    client: httpx.AsyncClient,
) -> None:
    # Given
    await sign_in(client, ADMIN, ADMIN_PASSWORD)
    # When
    answer = await client.get("/api/v1/pricing", headers={"Authorization": "Bearer wrong"})
    # Then
    assert answer.status_code == 401


async def test_a_viewer_may_use_the_page_routes(client: httpx.AsyncClient) -> None:
    # Given
    routes = sorted(NON_OPENAPI_ROUTES - PUBLIC_ROUTES)
    # When
    answers = {route: await call(client, *route, headers=VIEWER_HEADERS) for route in routes}
    # Then: the page and the document open; sign-out answers with the login page
    assert {route: answer.status_code for route, answer in answers.items()} == {
        ("GET", "/"): 200,
        ("GET", "/openapi.json"): 200,
        ("POST", "/logout"): 303,
    }
