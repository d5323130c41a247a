"""The identity settings of a gateway, and the in-memory credential snapshot of managed mode."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from chargeback.gateway.identity._inspection import DEFAULT_OAUTH_CLAIM
from chargeback.gateway.identity._managed import MANAGED_MECHANISMS
from chargeback.gateway.identity._principal_mapping import (
    DEFAULT_RULES,
    MappingRule,
    parse_mapping_rules,
)
from chargeback.gateway.identity._sasl_messages import PLAIN, SCRAM_MECHANISMS
from chargeback.gateway.identity._scram import ScramCredential


class SaslMode(StrEnum):
    """Who checks SASL passwords with `--principal sasl`."""

    PASSTHROUGH = "passthrough"  # the broker; the gateway reads the exchange
    MANAGED = "managed"  # the gateway, against its own stored credentials


@dataclass(frozen=True, slots=True)
class UpstreamSasl:
    """The gateway's own SASL login to brokers (managed mode)."""

    mechanism: str
    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.mechanism != PLAIN and self.mechanism not in SCRAM_MECHANISMS:
            raise ValueError(
                f"upstream SASL mechanism {self.mechanism!r} is not PLAIN, SCRAM-SHA-256 "
                "or SCRAM-SHA-512"
            )


class CredentialSnapshot:
    """Gateway-user credentials held in memory, swapped whole when reloaded from the store.

    Shared by every connection of a gateway: lookups run in the logins' worker threads and
    must not touch the database; a reload (from another thread) replaces the dict in one step.
    """

    def __init__(self, credentials: Iterable[ScramCredential] = ()) -> None:
        self._by_key: dict[tuple[str, str], ScramCredential] = {}
        self._lock = threading.Lock()
        self.replace(credentials)

    def replace(self, credentials: Iterable[ScramCredential]) -> None:
        """Make `credentials` the whole set."""
        by_key = {(c.name, c.mechanism): c for c in credentials}
        with self._lock:
            self._by_key = by_key

    def __call__(self, name: str, mechanism: str) -> ScramCredential | None:
        """Return the credential of `name` for `mechanism`, or None."""
        return self._by_key.get((name, mechanism))

    def __len__(self) -> int:
        return len(self._by_key)


def _default_rules() -> tuple[MappingRule, ...]:
    return parse_mapping_rules(DEFAULT_RULES)


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentitySettings:
    """How a gateway learns who its connections are (besides `--principal`)."""

    sasl_mode: SaslMode = SaslMode.PASSTHROUGH
    oauth_claim: str = DEFAULT_OAUTH_CLAIM
    credentials: CredentialSnapshot = field(default_factory=CredentialSnapshot)
    managed_mechanisms: tuple[str, ...] = MANAGED_MECHANISMS
    session_lifetime_ms: int = 0
    upstream_sasl: UpstreamSasl | None = None
    principal_rules: tuple[MappingRule, ...] = field(default_factory=_default_rules)
