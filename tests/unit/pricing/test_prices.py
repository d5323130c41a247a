"""Prices: validation messages, exact costs in decimal and binary GB, half-up rounding."""

from __future__ import annotations

import doctest
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

import chargeback.pricing._money
import chargeback.pricing._prices
from chargeback.pricing import (
    GbUnit,
    PriceSettings,
    PricingError,
    cost_of,
    parse_prices,
    round_half_up,
)


@pytest.mark.parametrize("module", [chargeback.pricing._prices, chargeback.pricing._money])
def test_the_examples_in_the_docstrings_hold(module: object) -> None:
    # When
    failed, attempted = doctest.testmod(module)  # type: ignore[arg-type]

    # Then
    assert attempted > 0
    assert failed == 0


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("ingress_per_gb", "-0.01", "ingress price per GB -0.01 is negative"),
        ("egress_per_gb", "abc", "egress price per GB 'abc' is not a number"),
        ("egress_per_gb", "", "egress price per GB '' is not a number"),
        ("ingress_per_gb", "NaN", "ingress price per GB 'NaN' is not a finite number"),
        ("ingress_per_gb", "Infinity", "is not a finite number"),
        ("ingress_per_gb", "0.123456789", "has more than 8 decimal places"),
        ("ingress_per_gb", "1234567890123456789012345678.123456789", "more than 8 decimal"),
        ("currency", "XYZ", "currency 'XYZ' is not a supported ISO 4217 code"),
        ("currency", "US", "currency 'US' is not a supported ISO 4217 code"),
        ("gb_unit", "kibi", "GB size 'kibi' is neither 'decimal' nor 'binary'"),
        ("ingress_per_gb", "1e400", "ingress price per GB '1e400' is not a plain decimal number"),
        ("egress_per_gb", "1e100000", "'1e100000' is not a plain decimal number"),
        ("egress_per_gb", "1E-3", "'1E-3' is not a plain decimal number: write it out in the "),
        ("egress_per_gb", "0e-100000", "'0e-100000' is not a plain decimal number"),
        ("egress_per_gb", "1_000", "'1_000' is not a plain decimal number"),
        # only the digits 0-9 and a point: no sign, spaces or digits of other scripts
        ("ingress_per_gb", " 0.1", "' 0.1' is not a plain decimal number"),
        ("ingress_per_gb", "0.1 ", "'0.1 ' is not a plain decimal number"),
        ("ingress_per_gb", "+1", "'\\+1' is not a plain decimal number"),
        ("ingress_per_gb", "\u0660.\u0661", "'\u0660.\u0661' is not a plain decimal number"),
        ("ingress_per_gb", "-0", "'-0' is not a plain decimal number"),
        ("ingress_per_gb", "-0.00", "'-0.00' is not a plain decimal number"),
        ("ingress_per_gb", "-.5", "ingress price per GB -0.5 is negative"),
        ("ingress_per_gb", "1000000.00000001", "ingress price per GB 1000000.00000001 is more"),
        ("egress_per_gb", "99999999999", "egress price per GB 99999999999 is more than 1000000"),
    ],
)
def test_bad_price_input_is_refused_with_a_message_naming_it(
    field: str, text: str, message: str
) -> None:
    # Given
    fields: dict[str, str | None] = {field: text}

    # When / Then
    with pytest.raises(PricingError, match=message):
        parse_prices(
            ingress_per_gb=fields.get("ingress_per_gb"),
            egress_per_gb=fields.get("egress_per_gb"),
            currency=fields.get("currency"),
            gb_unit=fields.get("gb_unit"),
        )


def test_trailing_zeros_beyond_8_places_are_not_extra_precision() -> None:
    # When
    prices = parse_prices(ingress_per_gb="0.1200000000")

    # Then
    assert prices.ingress_per_gb == Decimal("0.12")
    assert parse_prices(egress_per_gb="987654.1234567800").egress_per_gb == Decimal(
        "987654.12345678"
    )


@pytest.mark.parametrize(
    ("text", "printed"),
    [("0", "0"), ("0.00", "0.00"), ("1000000", "1000000"), (".5", "0.5"),
     ("1000000.00000000", "1000000.00000000"), ("7.", "7"), ("0.12345678", "0.12345678")],
)  # fmt: skip
def test_plain_prices_up_to_a_million_are_taken_in_the_form_typed(text: str, printed: str) -> None:
    # When
    price = parse_prices(ingress_per_gb=text).ingress_per_gb

    # Then: the value, and the form it prints and is stored in
    assert price == Decimal(printed)
    assert not price.is_signed()
    assert f"{price:f}" == printed


@pytest.mark.parametrize(
    ("value", "shown"),
    [(Decimal("-0"), "0"), (Decimal("1E+2"), "100"), (Decimal("1E+6"), "1000000"),
     (Decimal("0E-100000"), "0E-8"), (Decimal("0.120000000000"), "0.12000000")],
)  # fmt: skip
def test_prices_built_from_decimals_are_kept_in_plain_form(value: Decimal, shown: str) -> None:
    # When
    prices = PriceSettings(ingress_per_gb=value, egress_per_gb=value)

    # Then
    assert (str(prices.ingress_per_gb), str(prices.egress_per_gb)) == (shown, shown)
    assert prices.ingress_per_gb == value


def test_price_settings_refuse_a_price_above_a_million_however_they_are_built() -> None:
    with pytest.raises(PricingError, match="ingress price per GB 1E\\+100000 is more than 1000000"):
        PriceSettings(ingress_per_gb=Decimal("1e100000"))


def test_fields_not_given_keep_their_current_value() -> None:
    # Given
    current = PriceSettings(Decimal("0.1"), Decimal("0.2"), "EUR", GbUnit.BINARY)

    # When
    changed = parse_prices(egress_per_gb="0.05", base=current)

    # Then
    assert changed == PriceSettings(Decimal("0.1"), Decimal("0.05"), "EUR", GbUnit.BINARY)


@pytest.mark.parametrize("code", ["USD", "EUR", "GBP", "JPY", "CHF"])
def test_major_currencies_are_offered(code: str) -> None:
    assert parse_prices(currency=code.lower()).currency == code


def test_price_settings_refuse_invalid_values_however_they_are_built() -> None:
    with pytest.raises(PricingError, match="negative"):
        PriceSettings(ingress_per_gb=Decimal("-1"))
    with pytest.raises(PricingError, match="'usd' is not a supported"):
        PriceSettings(currency="usd")


def test_a_gb_is_a_billion_bytes_or_a_gibibyte() -> None:
    # When
    decimal_cost = cost_of(1_073_741_824, Decimal("1"), GbUnit.DECIMAL)
    binary_cost = cost_of(1_073_741_824, Decimal("1"), GbUnit.BINARY)

    # Then
    assert decimal_cost == Decimal("1.073741824")
    assert binary_cost == Decimal("1")


@given(
    byte_count=st.integers(min_value=0, max_value=10**19),
    price=st.decimals(min_value=0, max_value=10**6, places=8, allow_nan=False),
    unit=st.sampled_from(GbUnit),
)
def test_cost_is_exact(byte_count: int, price: Decimal, unit: GbUnit) -> None:
    # Given the exact rational cost, computed with fractions
    bytes_per_gb = 10**9 if unit is GbUnit.DECIMAL else 2**30
    expected = Fraction(byte_count) * Fraction(price) / bytes_per_gb

    # When
    cost = cost_of(byte_count, price, unit)

    # Then
    assert Fraction(cost) == expected


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        ("0.0000005", 6, "0.000001"),
        ("0.0000004999999", 6, "0.000000"),
        ("1.5", 0, "2"),
        ("2.5", 0, "3"),
        ("-2.5", 0, "-3"),
        ("123456789012345678901234567890.125", 2, "123456789012345678901234567890.13"),
    ],
)
def test_rounding_is_half_up_and_keeps_every_digit(value: str, places: int, expected: str) -> None:
    assert str(round_half_up(Decimal(value), places)) == expected
