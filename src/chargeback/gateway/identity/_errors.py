"""Errors of the gateway's identity part.

IdentityError(ChargebackError)      something about who a connection is went wrong
 ├── SaslMessageError                a SASL message that does not follow its mechanism's syntax
 ├── PrincipalMappingError           a malformed mapping rule, or no rule matched
 └── TlsSetupError                   a certificate, key or CA file that cannot be used
"""

from chargeback.errors import ChargebackError


class IdentityError(ChargebackError):
    """Who a connection is cannot be told; the message names what and where."""


class SaslMessageError(IdentityError):
    """A SASL message does not follow its mechanism's syntax."""


class PrincipalMappingError(IdentityError):
    """A principal mapping rule is malformed, or no rule matches a certificate subject."""


class TlsSetupError(IdentityError):
    """A TLS certificate, key or CA file cannot be loaded."""
