"""Gateway-managed SASL: the gateway itself authenticates clients (PLAIN, SCRAM-SHA-256/512)
against salted SCRAM credentials, and brokers never see the clients' SASL exchange.

One `ManagedSasl` per client connection. States (a SaslHandshake in AUTHENTICATED starts a
KIP-368 re-authentication, which must name the same user, as Kafka requires)::

                      SaslHandshake (mechanism enabled)
    UNAUTHENTICATED ─────────────────────────────────► AWAITING_CLIENT_MESSAGE ◄─┐
          │                                               │            │          │ SCRAM
          │ any other request                             │ good       │ SCRAM    │ client-final
          ▼ (only ApiVersions may come first)             │ PLAIN or   │ client-  │
        FAILED ◄──────── bad password, unknown user, ─────┤ SCRAM      │ first    │
          (answer, then close)  malformed message         │ final      ▼          │
                                                          │     AWAITING_SCRAM_FINAL
                                                          ▼
                                                     AUTHENTICATED (principal set;
                                                     expires after session_lifetime_ms)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chargeback.gateway.identity._errors import SaslMessageError
from chargeback.gateway.identity._sasl_messages import (
    PLAIN,
    SCRAM_MECHANISMS,
    SCRAM_SHA_256,
    SCRAM_SHA_512,
    parse_plain,
)
from chargeback.gateway.identity._scram import (
    UNKNOWN_USER_CREDENTIAL,
    CredentialLookup,
    ScramServerExchange,
    password_matches,
)
from chargeback.usage import Principal

MANAGED_MECHANISMS = (PLAIN, SCRAM_SHA_256, SCRAM_SHA_512)

# Kafka's error codes for SASL (kio names them too; plain ints keep this module I/O-free).
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
SASL_AUTHENTICATION_FAILED = 58

# Requests a client may send before it has authenticated (ApiVersions, SaslHandshake,
# SaslAuthenticate), as on a Kafka SASL listener.
PRE_AUTHENTICATION_API_KEYS = frozenset({18, 17, 36})


class ManagedState(enum.Enum):
    """Where a connection's gateway-managed authentication stands."""

    UNAUTHENTICATED = "unauthenticated"
    AWAITING_CLIENT_MESSAGE = "awaiting-client-message"
    AWAITING_SCRAM_FINAL = "awaiting-scram-final"
    AUTHENTICATED = "authenticated"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class HandshakeAnswer:
    """The gateway's SaslHandshake response."""

    error_code: int
    mechanisms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuthenticateAnswer:
    """The gateway's SaslAuthenticate response; `close` means: send it, then hang up."""

    error_code: int
    error_message: str | None
    auth_bytes: bytes
    session_lifetime_ms: int = 0
    close: bool = False


class ManagedSasl:
    """Authenticates one client connection in gateway-managed mode (see module docstring)."""

    def __init__(
        self,
        lookup: CredentialLookup,
        mechanisms: tuple[str, ...] = MANAGED_MECHANISMS,
        session_lifetime_ms: int = 0,
    ) -> None:
        self._lookup = lookup
        self._mechanisms = mechanisms
        self._session_lifetime_ms = session_lifetime_ms
        self._scram: ScramServerExchange | None = None
        self._session_ends_ms: float | None = None
        self.state = ManagedState.UNAUTHENTICATED
        self.mechanism: str | None = None
        self.principal: Principal | None = None
        self.problem: str | None = None
        self.authentications = 0

    def handshake(self, mechanism: str) -> HandshakeAnswer:
        """Answer a SaslHandshake request for `mechanism`."""
        if self.state not in (ManagedState.UNAUTHENTICATED, ManagedState.AUTHENTICATED):
            self._fail(f"SaslHandshake in state {self.state.value}")
            return HandshakeAnswer(ILLEGAL_SASL_STATE, self._mechanisms)
        if mechanism not in self._mechanisms:
            self.problem = f"client asked for SASL mechanism {mechanism!r}, not enabled"
            return HandshakeAnswer(UNSUPPORTED_SASL_MECHANISM, self._mechanisms)
        self.mechanism = mechanism
        self._scram = None
        self.state = ManagedState.AWAITING_CLIENT_MESSAGE
        return HandshakeAnswer(0, self._mechanisms)

    def authenticate(self, auth_bytes: bytes, now_ms: float) -> AuthenticateAnswer:
        """Answer a SaslAuthenticate request; `now_ms` is a monotonic clock in milliseconds.

        A PLAIN message costs a PBKDF2 key derivation (~10 ms), also for an unknown user:
        callers on an event loop run this in a worker thread.
        """
        try:
            if self.state is ManagedState.AWAITING_CLIENT_MESSAGE and self.mechanism == PLAIN:
                return self._plain(auth_bytes, now_ms)
            if self.state is ManagedState.AWAITING_CLIENT_MESSAGE:
                return self._scram_first(auth_bytes)
            if self.state is ManagedState.AWAITING_SCRAM_FINAL:
                return self._scram_final(auth_bytes, now_ms)
        except SaslMessageError as error:
            return self._refuse(f"malformed {self.mechanism} message: {error}")
        self._fail(f"SaslAuthenticate in state {self.state.value}")
        return AuthenticateAnswer(
            ILLEGAL_SASL_STATE, "SaslAuthenticate before SaslHandshake", b"", 0, close=True
        )

    def may_forward(self, api_key: int, now_ms: float) -> bool:
        """Tell whether a request may go on to the broker (False: close the connection)."""
        if api_key in PRE_AUTHENTICATION_API_KEYS:
            return self.state is not ManagedState.FAILED
        # During a re-authentication the session from before still holds.
        if self.principal is None or self.state is ManagedState.FAILED:
            self._fail(f"request with API key {api_key} before authentication")
            return False
        if self._session_ends_ms is not None and now_ms >= self._session_ends_ms:
            self._fail("SASL session expired without re-authentication")
            return False
        return True

    def _plain(self, auth_bytes: bytes, now_ms: float) -> AuthenticateAnswer:
        message = parse_plain(auth_bytes)
        if message.authzid and message.authzid != message.authcid:
            return self._refuse(f"PLAIN authzid {message.authzid!r} differs from the user name")
        credential = self._lookup(message.authcid, SCRAM_SHA_256) or self._lookup(
            message.authcid, SCRAM_SHA_512
        )
        # An unknown user costs the same key derivation as a known one (against a credential
        # no password matches), so the time an answer takes does not tell user names apart.
        is_match = password_matches(credential or UNKNOWN_USER_CREDENTIAL, message.password)
        if credential is None or not is_match:
            return self._refuse(f"PLAIN login of {message.authcid!r} with wrong credentials")
        return self._succeed(message.authcid, b"", now_ms)

    def _scram_first(self, auth_bytes: bytes) -> AuthenticateAnswer:
        assert self.mechanism in SCRAM_MECHANISMS
        self._scram = ScramServerExchange(self.mechanism, self._lookup)
        server_first = self._scram.first(auth_bytes)
        self.state = ManagedState.AWAITING_SCRAM_FINAL
        return AuthenticateAnswer(0, None, server_first)

    def _scram_final(self, auth_bytes: bytes, now_ms: float) -> AuthenticateAnswer:
        assert self._scram is not None
        assert self._scram.username is not None
        server_final = self._scram.final(auth_bytes)
        if server_final is None:
            return self._refuse(
                f"{self.mechanism} login of {self._scram.username!r} with wrong credentials"
            )
        return self._succeed(self._scram.username, server_final, now_ms)

    def _succeed(self, user: str, auth_bytes: bytes, now_ms: float) -> AuthenticateAnswer:
        if self.principal is not None and user != self.principal:
            return self._refuse(f"re-authentication as {user!r} instead of {self.principal!r}")
        self.principal = Principal(user)
        self.state = ManagedState.AUTHENTICATED
        self.authentications += 1
        lifetime_ms = self._session_lifetime_ms
        self._session_ends_ms = now_ms + lifetime_ms if lifetime_ms > 0 else None
        return AuthenticateAnswer(0, None, auth_bytes, lifetime_ms)

    def _refuse(self, problem: str) -> AuthenticateAnswer:
        self._fail(problem)
        # The client learns only that it failed; the reason goes to the gateway's log.
        message = (
            f"Authentication failed during authentication with SASL mechanism {self.mechanism}"
        )
        return AuthenticateAnswer(SASL_AUTHENTICATION_FAILED, message, b"", 0, True)

    def _fail(self, problem: str) -> None:
        self.state = ManagedState.FAILED
        self.problem = problem
