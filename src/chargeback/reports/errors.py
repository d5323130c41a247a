"""The report engine's errors."""

from chargeback.errors import ChargebackError


class ReportError(ChargebackError):
    """A report query is invalid: an unknown tab, period, metric, zone, date or sort column."""
