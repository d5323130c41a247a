"""`GET/PUT /api/v1/pricing`: reading prices, changing them (admins), and every refusal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from chargeback.pricing import CURRENCY_CODES, GbUnit, PriceSettings
from chargeback.store import Store
from tests.console.conftest import ADMIN_HEADERS, VIEWER_HEADERS


async def put(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.put("/api/v1/pricing", json=body, headers=ADMIN_HEADERS)


async def test_the_default_prices_are_zero_usd_per_decimal_gb(client: httpx.AsyncClient) -> None:
    # When
    answer = await client.get("/api/v1/pricing", headers=VIEWER_HEADERS)
    # Then
    body = answer.json()
    assert {key: body[key] for key in ("ingress_per_gb", "egress_per_gb", "currency")} == {
        "ingress_per_gb": "0",
        "egress_per_gb": "0",
        "currency": "USD",
    }
    assert (body["gb_unit"], body["bytes_per_gb"]) == ("decimal", 1_000_000_000)
    assert body["currencies"] == sorted(CURRENCY_CODES)
    assert {"USD", "EUR", "GBP"} <= set(body["currencies"])


async def test_an_admin_sets_every_field_and_the_store_keeps_it_exactly(
    client: httpx.AsyncClient, store: Store
) -> None:
    # Given
    body = {
        "ingress_per_gb": "0.12345678",
        "egress_per_gb": "0.5",
        "currency": "eur",
        "gb_unit": "binary",
    }
    # When
    answer = await put(client, body)
    # Then
    assert answer.status_code == 200
    assert store.get_prices() == PriceSettings(
        ingress_per_gb=Decimal("0.12345678"),
        egress_per_gb=Decimal("0.5"),
        currency="EUR",
        gb_unit=GbUnit.BINARY,
    )
    assert answer.json()["bytes_per_gb"] == 1_073_741_824


async def test_fields_left_out_keep_their_value(client: httpx.AsyncClient, store: Store) -> None:
    # Given
    await put(client, {"ingress_per_gb": "0.3", "egress_per_gb": "0.4"})
    # When
    await put(client, {"currency": "GBP"})
    # Then
    prices = store.get_prices()
    assert (prices.ingress_per_gb, prices.egress_per_gb, prices.currency) == (
        Decimal("0.3"),
        Decimal("0.4"),
        "GBP",
    )


@pytest.mark.parametrize(
    ("body", "field", "message_part"),
    [
        ({"ingress_per_gb": "-0.01"}, "ingress_per_gb", "negative"),
        ({"egress_per_gb": "0.123456789"}, "egress_per_gb", "more than 8 decimal places"),
        ({"egress_per_gb": "cheap"}, "egress_per_gb", "not a number"),
        ({"egress_per_gb": " 0.1"}, "egress_per_gb", "' 0.1' is not a plain decimal number"),
        ({"ingress_per_gb": "+1"}, "ingress_per_gb", "'+1' is not a plain decimal number"),
        ({"ingress_per_gb": "NaN"}, "ingress_per_gb", "not a finite number"),
        ({"currency": "UDS"}, "currency", "'UDS' is not a supported ISO 4217 code"),
        ({"gb_unit": "kibi"}, "gb_unit", "neither 'decimal' nor 'binary'"),
    ],
)
async def test_invalid_prices_answer_422_naming_the_field(
    client: httpx.AsyncClient, store: Store, body: dict[str, str], field: str, message_part: str
) -> None:
    # When
    answer = await put(client, body)
    # Then
    assert answer.status_code == 422
    assert list(answer.json()["errors"]) == [field]
    assert message_part in answer.json()["errors"][field]
    assert store.get_prices() == PriceSettings()


async def test_every_invalid_field_gets_its_own_message_and_nothing_changes(
    client: httpx.AsyncClient, store: Store
) -> None:
    # When
    answer = await put(client, {"ingress_per_gb": "-1", "egress_per_gb": "0.2", "currency": "X"})
    # Then
    assert answer.status_code == 422
    assert sorted(answer.json()["errors"]) == ["currency", "ingress_per_gb"]
    assert store.get_prices() == PriceSettings()


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"ingress_per_gb": 0.1}, "ingress_per_gb"),
        ({"ingress_per_gb": "0.1", "discount": "5"}, "discount"),
        ([], "body"),
    ],
)
async def test_malformed_bodies_answer_422_naming_the_problem(
    client: httpx.AsyncClient, body: Any, message_part: str
) -> None:
    # When
    answer = await put(client, body)
    # Then
    assert answer.status_code == 422
    assert message_part in answer.json()["detail"]


async def test_a_body_that_is_not_json_answers_422(client: httpx.AsyncClient) -> None:
    # When
    answer = await client.put(
        "/api/v1/pricing",
        content=b"ingress=1",
        headers={**ADMIN_HEADERS, "Content-Type": "application/json"},
    )
    # Then
    assert answer.status_code == 422
    assert "json" in answer.json()["detail"].lower()
