"""Pricing: money, prices per GB and the cost of bytes. Imports usage and errors only.

All money is `decimal.Decimal`, never float; rounding (half-up) happens only at output, with
`round_half_up`. `cost_of` is exact. `PriceSettings` validates itself (0 to MAX_PRICE_PER_GB,
at most 8 decimal places) and keeps prices in plain form; `parse_prices` turns user text into
settings, raising `PricingError` with a message that names the bad field.
"""

from chargeback.pricing._currencies import CURRENCY_CODES
from chargeback.pricing._errors import PricingError
from chargeback.pricing._money import (
    cost_of,
    costs_of_usage,
    round_half_up,
    sum_money,
    sums_of_money,
)
from chargeback.pricing._prices import (
    MAX_PRICE_DECIMAL_PLACES,
    MAX_PRICE_PER_GB,
    GbUnit,
    PriceSettings,
    canonical_price,
    check_price,
    parse_currency,
    parse_gb_unit,
    parse_price,
    parse_prices,
)

__all__ = [
    "CURRENCY_CODES",
    "MAX_PRICE_DECIMAL_PLACES",
    "MAX_PRICE_PER_GB",
    "GbUnit",
    "PriceSettings",
    "PricingError",
    "canonical_price",
    "check_price",
    "cost_of",
    "costs_of_usage",
    "parse_currency",
    "parse_gb_unit",
    "parse_price",
    "parse_prices",
    "round_half_up",
    "sum_money",
    "sums_of_money",
]
