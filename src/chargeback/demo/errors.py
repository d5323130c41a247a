"""Errors of the demo."""

from chargeback.errors import ChargebackError


class DemoError(ChargebackError):
    """The demo could not start, run or stop one of its parts; the message says which."""
