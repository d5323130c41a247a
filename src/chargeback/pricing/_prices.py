"""Price settings (spec section 2). The pricing owner extends this module; keep the fields."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class GbUnit(StrEnum):
    """What one GB means when prices are applied."""

    DECIMAL = "decimal"  # 1,000,000,000 bytes (default)
    BINARY = "binary"  # 1,073,741,824 bytes (GiB)


@dataclass(frozen=True, slots=True)
class PriceSettings:
    """The prices in force: per produced GB, per consumed GB, currency, GB unit."""

    ingress_per_gb: Decimal = Decimal("0")
    egress_per_gb: Decimal = Decimal("0")
    currency: str = "USD"
    gb_unit: GbUnit = GbUnit.DECIMAL
