"""Errors of the console and of its user and token commands.

ChargebackError
 └── ConsoleError            a console user, role, password or token that cannot be used,
      │                      or an address the console cannot listen on
      └── SignInLockedError  too many wrong passwords for one user: wait, then try again
"""

import math

from chargeback.errors import ChargebackError


class ConsoleError(ChargebackError):
    """A console user, role, password or API token that cannot be used as given, or an address
    the console cannot listen on."""


class SignInLockedError(ConsoleError):
    """Too many wrong passwords for one user name lately; `retry_after_seconds` says how long
    until another try is allowed."""

    def __init__(self, user_name: str, retry_after_seconds: float) -> None:
        self.retry_after_seconds = max(1, math.ceil(retry_after_seconds))
        super().__init__(
            f"too many failed sign-ins for user {user_name!r}: "
            f"try again in {self.retry_after_seconds} s"
        )
