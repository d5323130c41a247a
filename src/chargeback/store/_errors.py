"""The store's errors."""

from chargeback.errors import ChargebackError


class StoreError(ChargebackError):
    """The store refused a value, or the database could not be opened or written."""
