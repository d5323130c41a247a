"""Which identity handlers a connection gets, from `--principal` and `--sasl-mode`.

`--principal client-id` needs no handler: the connection loop reads every request header's
client id anyway and makes it the principal.
"""

from __future__ import annotations

from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.handlers.sasl_inspection import SaslInspector
from chargeback.gateway.handlers.sasl_managed import ManagedSaslAuthenticator
from chargeback.gateway.handlers.tls_principal import TlsPrincipal
from chargeback.gateway.identity import SaslMode
from chargeback.gateway.settings import PrincipalMode


def identity_handlers(connection: ConnectionContext) -> list[object]:
    """Return the identity handlers for `connection`, in chain order."""
    settings = connection.shared.settings
    if settings.principal_mode == PrincipalMode.TLS:
        return [TlsPrincipal(connection)]
    if settings.principal_mode == PrincipalMode.SASL:
        if settings.identity.sasl_mode == SaslMode.MANAGED:
            return [ManagedSaslAuthenticator(connection)]
        return [SaslInspector(connection)]
    return []
