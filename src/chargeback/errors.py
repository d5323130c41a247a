"""The root of kafka-chargeback's exceptions. Imports nothing of ours.

ChargebackError                 every error we raise on purpose; its message is for users
 ├── ConfigError                 a bad setting (names the setting and where it came from)
 └── <package>.errors.*          each package derives its own from ChargebackError
"""


class ChargebackError(Exception):
    """An error whose message is meant for the user: it names the bad value and its source."""


class ConfigError(ChargebackError):
    """A setting is missing or invalid."""
