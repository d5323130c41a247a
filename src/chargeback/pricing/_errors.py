"""The pricing package's errors."""

from chargeback.errors import ChargebackError


class PricingError(ChargebackError):
    """A price, currency or GB unit is invalid; the message names the field and the value."""
