"""The store's errors."""

from chargeback.errors import ChargebackError
from chargeback.usage import UsageRefusedError


class StoreError(ChargebackError):
    """The store refused a value, or the database could not be opened or written."""


class RecordsRefusedError(StoreError, UsageRefusedError):
    """Records of a usage batch are invalid; nothing of the batch was written.

    A `UsageRefusedError` too, so that a sink's caller (the gateway) knows that retrying the
    same records cannot help, without importing the store.
    """
