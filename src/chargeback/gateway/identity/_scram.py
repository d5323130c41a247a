"""SCRAM (RFC 5802, RFC 7677) key derivation, and both sides of a SCRAM exchange.

The gateway stores only salted SCRAM material (`ScramCredential`), never passwords. The server
side (`ScramServerExchange`) authenticates clients in gateway-managed mode; the client side
(`ScramClientExchange`) lets the gateway log in to brokers with its own credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from chargeback.gateway.identity._errors import SaslMessageError
from chargeback.gateway.identity._sasl_messages import (
    SCRAM_SHA_256,
    SCRAM_SHA_512,
    encode_saslname,
    parse_scram_client_final,
    parse_scram_client_first,
    parse_scram_server_final,
    parse_scram_server_first,
)

# RFC 7677 asks for at least 4096; Kafka refuses fewer too.
MIN_ITERATIONS = 4096
DEFAULT_ITERATIONS = 8192
_SALT_BYTES = 24
_NONCE_BYTES = 24
_HASH_NAMES = {SCRAM_SHA_256: "sha256", SCRAM_SHA_512: "sha512"}


@dataclass(frozen=True, slots=True)
class ScramCredential:
    """Salted SCRAM material for one user and mechanism (what the store keeps)."""

    name: str
    mechanism: str
    salt: bytes
    iterations: int
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)


UNKNOWN_USER_CREDENTIAL = ScramCredential(
    name="",
    mechanism=SCRAM_SHA_256,
    salt=secrets.token_bytes(_SALT_BYTES),
    iterations=DEFAULT_ITERATIONS,
    stored_key=secrets.token_bytes(hashlib.sha256().digest_size),  # random: no password fits
    server_key=b"",
)
"""What a PLAIN password of an unknown user is checked against, at the cost of a default user."""

CredentialLookup = Callable[[str, str], ScramCredential | None]
"""Find the credential of (user name, mechanism); None for an unknown user. Called from worker
threads during logins, so it must be thread-safe and should not block long (the CLI passes an
in-memory snapshot of the store)."""


def hash_name(mechanism: str) -> str:
    """Return hashlib's name of the hash behind a SCRAM mechanism.

    Raises:
        ValueError: not a SCRAM mechanism.

    >>> hash_name("SCRAM-SHA-512")
    'sha512'
    """
    try:
        return _HASH_NAMES[mechanism]
    except KeyError:
        raise ValueError(f"{mechanism!r} is not SCRAM-SHA-256 or SCRAM-SHA-512") from None


def _hmac(hash_algorithm: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hash_algorithm).digest()


def salted_password(mechanism: str, password: str, salt: bytes, iterations: int) -> bytes:
    """Derive SaltedPassword := Hi(password, salt, i), i.e. PBKDF2-HMAC."""
    return hashlib.pbkdf2_hmac(hash_name(mechanism), password.encode(), salt, iterations)


def _client_key(mechanism: str, salted: bytes) -> bytes:
    return _hmac(hash_name(mechanism), salted, b"Client Key")


def _stored_key(mechanism: str, client_key: bytes) -> bytes:
    return hashlib.new(hash_name(mechanism), client_key).digest()


def make_credential(
    name: str,
    mechanism: str,
    password: str,
    iterations: int = DEFAULT_ITERATIONS,
    salt: bytes | None = None,
) -> ScramCredential:
    """Derive the salted SCRAM material for `password` (a random salt unless one is given).

    Raises:
        ValueError: fewer than MIN_ITERATIONS iterations, or not a SCRAM mechanism.
    """
    if iterations < MIN_ITERATIONS:
        raise ValueError(f"{iterations} SCRAM iterations are too few (at least {MIN_ITERATIONS})")
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    salted = salted_password(mechanism, password, salt, iterations)
    return ScramCredential(
        name=name,
        mechanism=mechanism,
        salt=salt,
        iterations=iterations,
        stored_key=_stored_key(mechanism, _client_key(mechanism, salted)),
        server_key=_hmac(hash_name(mechanism), salted, b"Server Key"),
    )


def password_matches(credential: ScramCredential, password: str) -> bool:
    """Tell whether `password` derives the credential's stored key (constant-time compare)."""
    salted = salted_password(credential.mechanism, password, credential.salt, credential.iterations)
    candidate = _stored_key(credential.mechanism, _client_key(credential.mechanism, salted))
    return hmac.compare_digest(candidate, credential.stored_key)


def _new_nonce() -> str:
    return secrets.token_urlsafe(_NONCE_BYTES)


ServerStep = Literal["challenge", "success"]


class ScramServerExchange:
    """The server side of one SCRAM exchange: client-first -> server-first -> client-final ->
    server-final. Unknown users get a made-up challenge so they look like wrong passwords.
    """

    def __init__(self, mechanism: str, lookup: CredentialLookup) -> None:
        self._mechanism = mechanism
        self._lookup = lookup
        self._credential: ScramCredential | None = None
        self._auth_prefix = ""
        self._nonce = ""
        self._gs2_header = ""
        self.username: str | None = None

    def first(self, message: bytes) -> bytes:
        """Answer the client-first message with the server-first message.

        Raises:
            SaslMessageError: malformed message, channel binding or an unsupported extension.
        """
        first = parse_scram_client_first(message)
        if first.gs2_header.startswith("p="):
            raise SaslMessageError("SCRAM channel binding is not supported")
        if first.extensions:
            # Kafka's delegation tokens (tokenauth=true) would name a token, not a user.
            raise SaslMessageError(f"SCRAM extensions {sorted(first.extensions)} not supported")
        self.username = first.username
        self._credential = self._lookup(first.username, self._mechanism)
        salt, iterations = self._salt_and_iterations(first.username)
        self._nonce = first.client_nonce + _new_nonce()
        self._gs2_header = first.gs2_header
        server_first = f"r={self._nonce},s={base64.b64encode(salt).decode()},i={iterations}"
        self._auth_prefix = f"{first.bare},{server_first}"
        return server_first.encode()

    def _salt_and_iterations(self, username: str) -> tuple[bytes, int]:
        if self._credential is not None:
            return self._credential.salt, self._credential.iterations
        # A stable fake salt per user name: a second attempt sees the same salt.
        fake_salt = hashlib.sha256(b"chargeback-unknown-user:" + username.encode()).digest()
        return fake_salt[:_SALT_BYTES], DEFAULT_ITERATIONS

    def final(self, message: bytes) -> bytes | None:
        """Check the client proof; return the server-final message, or None if it is wrong.

        Raises:
            SaslMessageError: malformed message, or nonce or channel binding not as agreed.
        """
        final = parse_scram_client_final(message)
        # Kafka's own server only checks that the nonce ends with the agreed one: librdkafka
        # before 2.1 sends the client nonce twice (client + client + server), and Kafka accepts it.
        if not final.nonce.endswith(self._nonce):
            raise SaslMessageError("SCRAM client-final nonce differs from the agreed nonce")
        expected_binding = base64.b64encode(self._gs2_header.encode()).decode()
        if final.channel_binding != expected_binding:
            raise SaslMessageError("SCRAM client-final channel binding differs from its GS2 header")
        credential = self._credential
        if credential is None:
            return None
        auth_message = f"{self._auth_prefix},{final.without_proof}".encode()
        algorithm = hash_name(self._mechanism)
        client_signature = _hmac(algorithm, credential.stored_key, auth_message)
        if len(final.proof) != len(client_signature):
            return None
        client_key = bytes(a ^ b for a, b in zip(final.proof, client_signature, strict=True))
        if not hmac.compare_digest(_stored_key(self._mechanism, client_key), credential.stored_key):
            return None
        server_signature = _hmac(algorithm, credential.server_key, auth_message)
        return b"v=" + base64.b64encode(server_signature)


class ScramClientExchange:
    """The client side of one SCRAM exchange, for the gateway's own login to brokers."""

    def __init__(self, mechanism: str, username: str, password: str) -> None:
        self._mechanism = mechanism
        self._password = password
        self._client_first_bare = f"n={encode_saslname(username)},r={_new_nonce()}"
        self._server_signature = b""

    def first(self) -> bytes:
        """Return the client-first message."""
        return f"n,,{self._client_first_bare}".encode()

    def final(self, server_first_message: bytes) -> bytes:
        """Answer the server-first message with the client-final message (with proof).

        Raises:
            SaslMessageError: the server-first message is malformed or changes our nonce.
        """
        server_first = parse_scram_server_first(server_first_message)
        client_nonce = self._client_first_bare.rpartition("r=")[2]
        if not server_first.nonce.startswith(client_nonce):
            raise SaslMessageError("SCRAM server nonce does not extend the client nonce")
        without_proof = f"c={base64.b64encode(b'n,,').decode()},r={server_first.nonce}"
        auth_message = f"{self._client_first_bare},{server_first.text},{without_proof}".encode()
        algorithm = hash_name(self._mechanism)
        salted = salted_password(
            self._mechanism, self._password, server_first.salt, server_first.iterations
        )
        client_key = _client_key(self._mechanism, salted)
        signature = _hmac(algorithm, _stored_key(self._mechanism, client_key), auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = _hmac(algorithm, salted, b"Server Key")
        self._server_signature = _hmac(algorithm, server_key, auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final_message: bytes) -> None:
        """Check the server's signature, so that a fake server is noticed.

        Raises:
            SaslMessageError: the server reports an error or signs wrongly.
        """
        signature = parse_scram_server_final(server_final_message)
        if not hmac.compare_digest(signature, self._server_signature):
            raise SaslMessageError("SCRAM server signature is wrong: not the expected server")
