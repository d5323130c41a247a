"""`/healthz`, `/metrics`, `/openapi.json`, security headers, and the page shell per role."""

from __future__ import annotations

import httpx
import pytest

from chargeback.store import Store
from tests.console.conftest import (
    ADMIN_HEADERS,
    VIEWER,
    VIEWER_HEADERS,
    VIEWER_PASSWORD,
    sign_in,
    store_gone_away,
)
from tests.console.seed import seed


async def test_healthz_answers_ok_without_sign_in(client: httpx.AsyncClient) -> None:
    # When
    answer = await client.get("/healthz")
    # Then
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


async def test_metrics_count_requests_by_handler_and_status(client: httpx.AsyncClient) -> None:
    # Given
    await client.get("/api/v1/chargeback", params={"period": "7D"}, headers=VIEWER_HEADERS)
    await client.get("/api/v1/chargeback", params={"period": "8D"}, headers=VIEWER_HEADERS)
    await client.get("/api/v1/chargeback")
    # When
    answer = await client.get("/metrics", headers=VIEWER_HEADERS)
    # Then
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    lines = answer.text.splitlines()
    for status in ("200", "422", "401"):
        sample = (
            "chargeback_console_requests_total"
            f'{{handler="chargeback_view",method="GET",status="{status}"}} 1.0'
        )
        assert sample in lines
    assert any(line.startswith("chargeback_console_request_duration_seconds") for line in lines)


async def test_metrics_never_carry_raw_paths_or_query_strings(client: httpx.AsyncClient) -> None:
    # Given a request whose path and query hold made-up text
    await client.get("/no-such-page-xyz?secret=swordfish", headers=VIEWER_HEADERS)
    # When
    answer = await client.get("/metrics", headers=VIEWER_HEADERS)
    # Then
    assert "xyz" not in answer.text
    assert "swordfish" not in answer.text


async def test_the_openapi_document_lists_the_api_and_its_sign_in_schemes(
    client: httpx.AsyncClient,
) -> None:
    # When
    document = (await client.get("/openapi.json", headers=VIEWER_HEADERS)).json()
    # Then
    assert set(document["paths"]) == {
        "/api/v1/chargeback",
        "/api/v1/chargeback/export",
        "/api/v1/pricing",
        "/healthz",
        "/metrics",
    }
    assert set(document["components"]["securitySchemes"]) == {
        "bearerToken",
        "basicAuth",
        "sessionCookie",
    }
    assert document["paths"]["/healthz"]["get"]["security"] == []
    assert document["paths"]["/api/v1/pricing"]["put"]["security"] != []
    parameters = {p["name"] for p in document["paths"]["/api/v1/chargeback"]["get"]["parameters"]}
    assert parameters == {"tab", "period", "metric", "asOf", "tz", "filter", "sort", "cluster"}


async def test_no_swagger_or_redoc_page_loads_code_from_a_cdn(client: httpx.AsyncClient) -> None:
    # When
    answers = [await client.get(path, headers=VIEWER_HEADERS) for path in ("/docs", "/redoc")]
    # Then
    assert [answer.status_code for answer in answers] == [404, 404]


async def test_pages_carry_a_strict_content_security_policy(client: httpx.AsyncClient) -> None:
    # When
    answer = await client.get("/login")
    # Then
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_page_shows_the_price_dialog_to_admins_only(client: httpx.AsyncClient) -> None:
    # Given
    admin_page = await client.get("/", headers=ADMIN_HEADERS)
    # When
    viewer_page = await client.get("/", headers=VIEWER_HEADERS)
    # Then
    assert 'id="price-dialog"' in admin_page.text
    assert 'id="price-dialog"' not in viewer_page.text
    assert 'id="open-prices"' not in viewer_page.text


async def test_the_page_offers_each_cluster_and_serves_echarts_itself(
    client: httpx.AsyncClient, store: Store
) -> None:
    # Given
    seed(store)
    # When
    page = await client.get("/", headers=VIEWER_HEADERS)
    # Then
    assert '<option value="east">east</option>' in page.text
    assert '<option value="west">west</option>' in page.text
    assert 'src="/static/vendor/echarts/echarts.min.js"' in page.text
    assert "cdn" not in page.text.lower()


async def test_the_page_escapes_what_users_typed_into_the_url(client: httpx.AsyncClient) -> None:
    # Given
    await sign_in(client, VIEWER, VIEWER_PASSWORD)
    # When
    page = await client.get("/", params={"filter": "<script>alert(1)</script>"})
    # Then
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text


async def test_a_failing_store_answers_503_without_showing_its_error(
    client: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store whose reads fail (the database went away); get_prices: the read every
    # report makes, whatever the engine's way of reading usage
    monkeypatch.setattr(store, "get_prices", store_gone_away)
    # When
    answer = await client.get("/api/v1/chargeback", headers=VIEWER_HEADERS)
    # Then
    assert answer.status_code == 503
    assert answer.json() == {"detail": "the store could not answer; the console's log says why"}


async def test_healthz_answers_503_when_the_store_does_not_answer(
    client: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given
    monkeypatch.setattr(store, "get_setting", store_gone_away)
    # When
    answer = await client.get("/healthz")
    # Then: a load balancer takes this console out of service
    assert answer.status_code == 503
    assert "db.internal" not in answer.text
