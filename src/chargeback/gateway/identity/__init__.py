"""Identity: who a gateway connection is. Pure logic, no I/O; imports usage and errors only.

- `SaslInspection`: pass-through SASL (`--principal sasl`): reads the user name from PLAIN and
  SCRAM-SHA-256/512 and a JWT claim from OAUTHBEARER; attributes it after the broker accepts.
- `ManagedSasl`: gateway-managed SASL: authenticates clients itself against `ScramCredential`s.
- `ScramClientExchange`, `build_plain`: the gateway's own login to brokers.
- `parse_mapping_rules`, `map_principal`: `--principal tls` subjects, Kafka-style rules.
- `server_tls_context`, `client_tls_context`: TLS towards clients and towards brokers.
"""

from chargeback.gateway.identity._errors import (
    IdentityError,
    PrincipalMappingError,
    SaslMessageError,
    TlsSetupError,
)
from chargeback.gateway.identity._inspection import (
    DEFAULT_OAUTH_CLAIM,
    SaslInspection,
    SaslOutcome,
    SaslState,
)
from chargeback.gateway.identity._managed import (
    ILLEGAL_SASL_STATE,
    MANAGED_MECHANISMS,
    PRE_AUTHENTICATION_API_KEYS,
    AuthenticateAnswer,
    HandshakeAnswer,
    ManagedSasl,
    ManagedState,
)
from chargeback.gateway.identity._principal_mapping import (
    DEFAULT_RULES,
    MappingRule,
    map_principal,
    parse_mapping_rules,
    subject_from_peer_certificate,
)
from chargeback.gateway.identity._sasl_messages import (
    OAUTHBEARER,
    PLAIN,
    SCRAM_MECHANISMS,
    SCRAM_SHA_256,
    SCRAM_SHA_512,
    build_plain,
)
from chargeback.gateway.identity._scram import (
    DEFAULT_ITERATIONS,
    MIN_ITERATIONS,
    CredentialLookup,
    ScramClientExchange,
    ScramCredential,
    make_credential,
    password_matches,
)
from chargeback.gateway.identity._settings import (
    CredentialSnapshot,
    IdentitySettings,
    SaslMode,
    UpstreamSasl,
)
from chargeback.gateway.identity._tls import client_tls_context, peer_subject, server_tls_context

__all__ = [
    "DEFAULT_ITERATIONS",
    "DEFAULT_OAUTH_CLAIM",
    "DEFAULT_RULES",
    "ILLEGAL_SASL_STATE",
    "MANAGED_MECHANISMS",
    "MIN_ITERATIONS",
    "OAUTHBEARER",
    "PLAIN",
    "PRE_AUTHENTICATION_API_KEYS",
    "SCRAM_MECHANISMS",
    "SCRAM_SHA_256",
    "SCRAM_SHA_512",
    "AuthenticateAnswer",
    "CredentialLookup",
    "CredentialSnapshot",
    "HandshakeAnswer",
    "IdentityError",
    "IdentitySettings",
    "ManagedSasl",
    "ManagedState",
    "MappingRule",
    "PrincipalMappingError",
    "SaslInspection",
    "SaslMessageError",
    "SaslMode",
    "SaslOutcome",
    "SaslState",
    "ScramClientExchange",
    "ScramCredential",
    "TlsSetupError",
    "UpstreamSasl",
    "build_plain",
    "client_tls_context",
    "make_credential",
    "map_principal",
    "parse_mapping_rules",
    "password_matches",
    "peer_subject",
    "server_tls_context",
    "subject_from_peer_certificate",
]
