"""The apps' SASL logins: the demo's gateway authenticates every client (gateway-managed SASL).

Each app is a gateway user of the demo's store with a password made for this run; the gateway
checks logins against the salted SCRAM material of every gateway user in the store (so users
added with `chargeback gateway-users add` on the demo's store may log in too). No password is
stored or printed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from chargeback.gateway.identity import (
    SCRAM_MECHANISMS,
    CredentialSnapshot,
    IdentitySettings,
    SaslMode,
    ScramCredential,
    make_credential,
)
from chargeback.store import GatewayUserRow, Store

_PASSWORD_BYTES = 24


@dataclass(frozen=True, slots=True)
class SaslLogin:
    """What a client needs to log in: mechanism, user name and password."""

    mechanism: str
    username: str
    password: str = field(repr=False)


def make_logins(store: Store, mechanisms: dict[str, str]) -> dict[str, SaslLogin]:
    """Give each service account (name -> SASL mechanism) a fresh password, stored as SCRAM.

    Raises:
        StoreError: the store refused a gateway user.
    """
    logins = {}
    for name, mechanism in mechanisms.items():
        password = secrets.token_urlsafe(_PASSWORD_BYTES)
        for scram in SCRAM_MECHANISMS:
            store.put_gateway_user(_row(make_credential(name, scram, password)))
        logins[name] = SaslLogin(mechanism, name, password)
    return logins


def managed_identity(store: Store) -> IdentitySettings:
    """Gateway-managed SASL over every gateway user the store holds now."""
    credentials = CredentialSnapshot(_credentials(store.list_gateway_users()))
    return IdentitySettings(sasl_mode=SaslMode.MANAGED, credentials=credentials)


def _row(credential: ScramCredential) -> GatewayUserRow:
    return GatewayUserRow(
        name=credential.name,
        mechanism=credential.mechanism,
        salt=credential.salt,
        iterations=credential.iterations,
        stored_key=credential.stored_key,
        server_key=credential.server_key,
    )


def _credentials(rows: Iterable[GatewayUserRow]) -> list[ScramCredential]:
    return [
        ScramCredential(
            name=row.name,
            mechanism=row.mechanism,
            salt=row.salt,
            iterations=row.iterations,
            stored_key=row.stored_key,
            server_key=row.server_key,
        )
        for row in rows
    ]
