"""Pricing: money, prices per GB and the cost of bytes. Imports usage and errors only.

All money is `decimal.Decimal`, never float; rounding (half-up) happens only at output.
"""

from chargeback.pricing._prices import GbUnit, PriceSettings

__all__ = ["GbUnit", "PriceSettings"]
