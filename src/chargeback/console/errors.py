"""Errors of the console and of its user and token commands.

ChargebackError
 └── ConsoleError            a console user, role, password or token that cannot be used
"""

from chargeback.errors import ChargebackError


class ConsoleError(ChargebackError):
    """A console user, role, password or API token that cannot be used as given."""
