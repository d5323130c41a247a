"""Pass-through SASL inspection: the broker authenticates, the gateway only reads who it was.

One `SaslInspection` per client connection follows the SaslHandshake / SaslAuthenticate
exchange (and the legacy framing of SaslHandshake v0, where raw SASL tokens follow the
handshake without Kafka headers). It reads the user name from PLAIN and SCRAM client messages
and a claim from the OAUTHBEARER token, and makes that the connection's principal only when the
broker's last answer says the authentication succeeded.

States (a SaslHandshake request may also start from AUTHENTICATED: KIP-368 re-authentication,
during which the previous principal stays attributed until the new one succeeds)::

                        SaslHandshake request
    UNAUTHENTICATED ───────────────────────────► HANDSHAKE_REQUESTED
     ▲      ▲                                      │        │
     │      └──────── handshake error ≠ 0 ─────────┘        │ handshake error 0
     │                                                       ▼
     │   SaslAuthenticate request (v1 handshake)   ┌── AWAITING_CLIENT_MESSAGE ◄──┐
     │   or raw token (v0 handshake)               │                              │ answer error 0,
     │                                             ▼                              │ exchange goes on
     │                                   AWAITING_SERVER_MESSAGE ─────────────────┘
     │                                     │                  │
     │          answer error ≠ 0, or       │                  │ answer error 0 and the
     │          the mechanism says failed  ▼                  ▼ mechanism says done
     └─────────────────────────────────  FAILED          AUTHENTICATED (principal set)

FAILED keeps the principal it had (none, or the one before a failed re-authentication): the
broker closes such connections, and nothing more is attributed to a name it did not accept.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from chargeback.gateway.identity._errors import SaslMessageError
from chargeback.gateway.identity._sasl_messages import (
    OAUTHBEARER,
    PLAIN,
    SCRAM_MECHANISMS,
    is_oauthbearer_failure_ack,
    jwt_claim,
    parse_oauthbearer_token,
    parse_plain,
    parse_scram_client_first,
)
from chargeback.usage import Principal

DEFAULT_OAUTH_CLAIM = "sub"


class SaslState(enum.Enum):
    """Where a connection's SASL exchange stands, as seen by the inspection."""

    UNAUTHENTICATED = "unauthenticated"
    HANDSHAKE_REQUESTED = "handshake-requested"
    AWAITING_CLIENT_MESSAGE = "awaiting-client-message"
    AWAITING_SERVER_MESSAGE = "awaiting-server-message"
    AUTHENTICATED = "authenticated"
    FAILED = "failed"


class Verdict(enum.Enum):
    """What a mechanism makes of a server message that came with error code 0."""

    CONTINUE = "continue"
    SUCCESS = "success"
    FAILURE = "failure"


class _MechanismReader(Protocol):
    """Reads one mechanism's messages; `user` is the name the client claims."""

    user: str | None

    def client_message(self, message: bytes) -> None: ...

    def server_message(self, message: bytes) -> Verdict: ...


class _PlainReader:
    """PLAIN: one client message, one answer."""

    def __init__(self) -> None:
        self.user: str | None = None

    def client_message(self, message: bytes) -> None:
        self.user = parse_plain(message).authcid

    def server_message(self, message: bytes) -> Verdict:
        return Verdict.SUCCESS


class _ScramReader:
    """SCRAM: client-first, server-first, client-final, server-final (`v=` or `e=`)."""

    def __init__(self) -> None:
        self.user: str | None = None
        self._server_messages = 0

    def client_message(self, message: bytes) -> None:
        if self.user is None and self._server_messages == 0:
            self.user = parse_scram_client_first(message).username

    def server_message(self, message: bytes) -> Verdict:
        self._server_messages += 1
        if self._server_messages == 1:
            return Verdict.CONTINUE
        return Verdict.SUCCESS if message.startswith(b"v=") else Verdict.FAILURE


class _OAuthBearerReader:
    """OAUTHBEARER: an empty answer means success; a non-empty one is an error challenge
    (RFC 7628 section 3.2.2) that the client acknowledges before the server fails it."""

    def __init__(self, claim: str) -> None:
        self.user: str | None = None
        self._claim = claim

    def client_message(self, message: bytes) -> None:
        if not is_oauthbearer_failure_ack(message):
            self.user = jwt_claim(parse_oauthbearer_token(message), self._claim)

    def server_message(self, message: bytes) -> Verdict:
        return Verdict.SUCCESS if not message else Verdict.CONTINUE


class _UnreadableReader:
    """A mechanism the gateway cannot read (GSSAPI, ...): never names anyone."""

    def __init__(self) -> None:
        self.user: str | None = None

    def client_message(self, message: bytes) -> None:
        return None

    def server_message(self, message: bytes) -> Verdict:
        return Verdict.CONTINUE


def _reader_for(mechanism: str, oauth_claim: str) -> _MechanismReader:
    if mechanism == PLAIN:
        return _PlainReader()
    if mechanism in SCRAM_MECHANISMS:
        return _ScramReader()
    if mechanism == OAUTHBEARER:
        return _OAuthBearerReader(oauth_claim)
    return _UnreadableReader()


@dataclass(frozen=True, slots=True)
class SaslOutcome:
    """What an answer from the broker changed; `principal` is set on a success."""

    state: SaslState
    principal: Principal | None = None
    problem: str | None = None


class SaslInspection:
    """Follows one connection's SASL exchange and learns its principal (see module docstring)."""

    def __init__(self, oauth_claim: str = DEFAULT_OAUTH_CLAIM) -> None:
        self._oauth_claim = oauth_claim
        self._reader: _MechanismReader | None = None
        self._problem: str | None = None
        self.state = SaslState.UNAUTHENTICATED
        self.mechanism: str | None = None
        self.principal: Principal | None = None
        self.uses_raw_tokens = False
        self.session_lifetime_ms = 0
        self.authentications = 0

    @property
    def is_reauthenticating(self) -> bool:
        """A principal is attributed and a new exchange (KIP-368) is under way."""
        return self.principal is not None and self.state is not SaslState.AUTHENTICATED

    @property
    def expects_raw_token(self) -> bool:
        """The next client frame is a bare SASL token (after a SaslHandshake v0)."""
        return self.uses_raw_tokens and self.state is SaslState.AWAITING_CLIENT_MESSAGE

    def handshake_requested(self, mechanism: str, version: int) -> None:
        """The client asked for `mechanism` with SaslHandshake `version`."""
        self.state = SaslState.HANDSHAKE_REQUESTED
        self.mechanism = mechanism
        self.uses_raw_tokens = version == 0
        self._reader = _reader_for(mechanism, self._oauth_claim)
        self._problem = None

    def handshake_answered(self, error_code: int) -> SaslOutcome:
        """The broker answered the handshake."""
        if self.state is not SaslState.HANDSHAKE_REQUESTED:
            return self._outcome()
        if error_code != 0:
            self._fail(f"broker refused SASL mechanism {self.mechanism} (error {error_code})")
        else:
            self.state = SaslState.AWAITING_CLIENT_MESSAGE
        return self._outcome()

    def client_message(self, auth_bytes: bytes) -> None:
        """The client sent SASL bytes (a SaslAuthenticate request or a raw token)."""
        if self.state is not SaslState.AWAITING_CLIENT_MESSAGE or self._reader is None:
            return
        self.state = SaslState.AWAITING_SERVER_MESSAGE
        try:
            self._reader.client_message(auth_bytes)
        except SaslMessageError as error:
            self._problem = str(error)

    def server_message(
        self, error_code: int, auth_bytes: bytes, session_lifetime_ms: int = 0
    ) -> SaslOutcome:
        """The broker answered the client's SASL bytes; a success sets the principal."""
        if self.state is not SaslState.AWAITING_SERVER_MESSAGE or self._reader is None:
            return self._outcome()
        if error_code != 0:
            self._fail(f"broker refused the {self.mechanism} authentication (error {error_code})")
            return self._outcome()
        verdict = self._reader.server_message(auth_bytes)
        if verdict is Verdict.CONTINUE:
            self.state = SaslState.AWAITING_CLIENT_MESSAGE
            return self._outcome()
        if verdict is Verdict.FAILURE:
            self._fail(f"{self.mechanism} server reported a failed authentication")
            return self._outcome()
        return self._succeed(session_lifetime_ms)

    def _succeed(self, session_lifetime_ms: int) -> SaslOutcome:
        user = self._reader.user if self._reader is not None else None
        if user is None and self._problem is None:
            self._problem = f"cannot read a user name from SASL mechanism {self.mechanism}"
        self.principal = Principal(user) if user is not None else Principal("ANONYMOUS")
        self.state = SaslState.AUTHENTICATED
        self.session_lifetime_ms = session_lifetime_ms
        self.authentications += 1
        return SaslOutcome(self.state, self.principal, self._problem)

    def _fail(self, problem: str) -> None:
        self.state = SaslState.FAILED
        self._problem = problem

    def _outcome(self) -> SaslOutcome:
        return SaslOutcome(self.state, None, self._problem)
