"""Parsers and builders for the SASL messages the gateway reads: PLAIN (RFC 4616),
SCRAM (RFC 5802) and OAUTHBEARER (RFC 7628). Pure functions over bytes; no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

from chargeback.gateway.identity._errors import SaslMessageError

PLAIN = "PLAIN"
SCRAM_SHA_256 = "SCRAM-SHA-256"
SCRAM_SHA_512 = "SCRAM-SHA-512"
OAUTHBEARER = "OAUTHBEARER"
SCRAM_MECHANISMS = (SCRAM_SHA_256, SCRAM_SHA_512)

_OAUTH_SEPARATOR = "\x01"


@dataclass(frozen=True, slots=True)
class PlainMessage:
    """A PLAIN client message: `[authzid] NUL authcid NUL password`."""

    authzid: str
    authcid: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ScramClientFirst:
    """A SCRAM client-first message, split into the parts the exchange needs."""

    gs2_header: str
    bare: str  # client-first-message-bare, part of the AuthMessage that both sides sign
    username: str
    client_nonce: str
    extensions: dict[str, str]


@dataclass(frozen=True, slots=True)
class ScramClientFinal:
    """A SCRAM client-final message."""

    channel_binding: str
    nonce: str
    proof: bytes = field(repr=False)
    without_proof: str  # client-final-message-without-proof, part of the AuthMessage


@dataclass(frozen=True, slots=True)
class ScramServerFirst:
    """A SCRAM server-first message."""

    text: str
    nonce: str
    salt: bytes
    iterations: int


def _decode_utf8(message: bytes, what: str) -> str:
    try:
        return message.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SaslMessageError(f"{what} is not valid UTF-8: {error}") from error


def parse_plain(message: bytes) -> PlainMessage:
    """Split a PLAIN client message into authzid, authcid and password.

    Raises:
        SaslMessageError: the message does not have exactly three NUL-separated parts, or an
            empty user name.

    >>> parse_plain(b"\\x00alice\\x00secret").authcid
    'alice'
    """
    parts = _decode_utf8(message, "PLAIN message").split("\x00")
    if len(parts) != 3:
        raise SaslMessageError(
            f"PLAIN message has {len(parts)} NUL-separated parts, expected 3 "
            "(authzid, user name, password)"
        )
    authzid, authcid, password = parts
    if not authcid:
        raise SaslMessageError("PLAIN message has an empty user name")
    return PlainMessage(authzid=authzid, authcid=authcid, password=password)


def build_plain(username: str, password: str) -> bytes:
    """Build a PLAIN client message without authzid.

    >>> build_plain("bob", "pw")
    b'\\x00bob\\x00pw'
    """
    return f"\x00{username}\x00{password}".encode()


def decode_saslname(saslname: str) -> str:
    """Undo SCRAM's escaping of `,` and `=` in a user name (RFC 5802 section 5.1).

    Raises:
        SaslMessageError: an `=` not followed by `2C` or `3D`.

    >>> decode_saslname("a=2Cb=3Dc")
    'a,b=c'
    """
    if "=" not in saslname:
        return saslname
    decoded: list[str] = []
    index = 0
    while index < len(saslname):
        if saslname[index] != "=":
            decoded.append(saslname[index])
            index += 1
            continue
        escape = saslname[index : index + 3]
        if escape == "=2C":
            decoded.append(",")
        elif escape == "=3D":
            decoded.append("=")
        else:
            raise SaslMessageError(f"SCRAM user name {saslname!r} has a bad escape {escape!r}")
        index += 3
    return "".join(decoded)


def encode_saslname(name: str) -> str:
    """Escape `=` and `,` in a user name for a SCRAM message.

    >>> encode_saslname("a,b=c")
    'a=2Cb=3Dc'
    """
    return name.replace("=", "=3D").replace(",", "=2C")


def _attributes(text: str, what: str) -> list[tuple[str, str]]:
    """Split `k=v,k=v` into pairs; values may contain `=`."""
    pairs: list[tuple[str, str]] = []
    for item in text.split(","):
        key, equals, value = item.partition("=")
        if not equals or len(key) != 1:
            raise SaslMessageError(f"{what} has a malformed attribute {item!r}")
        pairs.append((key, value))
    return pairs


def _split_gs2_header(text: str, what: str) -> tuple[str, str]:
    """Split `cbind-flag,[a=authzid],rest` into the header (with both commas) and the rest."""
    flag, comma, rest = text.partition(",")
    authzid, comma2, remainder = rest.partition(",")
    if not comma or not comma2:
        raise SaslMessageError(f"{what} lacks the GS2 header (like 'n,,')")
    if flag not in ("n", "y") and not flag.startswith("p="):
        raise SaslMessageError(f"{what} has an unknown channel-binding flag {flag!r}")
    if authzid and not authzid.startswith("a="):
        raise SaslMessageError(f"{what} has a malformed authzid {authzid!r}")
    return f"{flag},{authzid},", remainder


def parse_scram_client_first(message: bytes) -> ScramClientFirst:
    """Read the user name and nonce from a SCRAM client-first message.

    Raises:
        SaslMessageError: the message does not follow RFC 5802's syntax.

    >>> parse_scram_client_first(b"n,,n=alice,r=abc").username
    'alice'
    """
    text = _decode_utf8(message, "SCRAM client-first message")
    gs2_header, bare = _split_gs2_header(text, "SCRAM client-first message")
    pairs = _attributes(bare, "SCRAM client-first message")
    if pairs[0][0] == "m":
        raise SaslMessageError("SCRAM client-first message asks for a mandatory extension")
    if len(pairs) < 2 or pairs[0][0] != "n" or pairs[1][0] != "r":
        raise SaslMessageError("SCRAM client-first message must start with 'n=USER,r=NONCE'")
    username = decode_saslname(pairs[0][1])
    if not username or not pairs[1][1]:
        raise SaslMessageError("SCRAM client-first message has an empty user name or nonce")
    return ScramClientFirst(
        gs2_header=gs2_header,
        bare=bare,
        username=username,
        client_nonce=pairs[1][1],
        extensions=dict(pairs[2:]),
    )


def parse_scram_client_final(message: bytes) -> ScramClientFinal:
    """Split a SCRAM client-final message into channel binding, nonce and proof.

    Raises:
        SaslMessageError: the message does not follow RFC 5802's syntax.
    """
    text = _decode_utf8(message, "SCRAM client-final message")
    without_proof, comma, proof_attribute = text.rpartition(",")
    pairs = _attributes(without_proof, "SCRAM client-final message") if comma else []
    if len(pairs) < 2 or pairs[0][0] != "c" or pairs[1][0] != "r":
        raise SaslMessageError("SCRAM client-final message must start with 'c=...,r=...'")
    if not proof_attribute.startswith("p="):
        raise SaslMessageError("SCRAM client-final message must end with the proof 'p=...'")
    return ScramClientFinal(
        channel_binding=pairs[0][1],
        nonce=pairs[1][1],
        proof=_b64decode(proof_attribute[2:], "SCRAM client proof"),
        without_proof=without_proof,
    )


def parse_scram_server_first(message: bytes) -> ScramServerFirst:
    """Read nonce, salt and iteration count from a SCRAM server-first message.

    Raises:
        SaslMessageError: the message does not follow RFC 5802's syntax.
    """
    text = _decode_utf8(message, "SCRAM server-first message")
    pairs = _attributes(text, "SCRAM server-first message")
    if pairs[0][0] == "e":
        raise SaslMessageError(f"SCRAM server refused the client-first message: {pairs[0][1]}")
    values = dict(pairs)
    if not {"r", "s", "i"} <= values.keys():
        raise SaslMessageError("SCRAM server-first message must carry 'r=', 's=' and 'i='")
    if not values["i"].isdigit():
        raise SaslMessageError(f"SCRAM iteration count {values['i']!r} is not a number")
    return ScramServerFirst(
        text=text,
        nonce=values["r"],
        salt=_b64decode(values["s"], "SCRAM salt"),
        iterations=int(values["i"]),
    )


def parse_scram_server_final(message: bytes) -> bytes:
    """Return the server signature of a SCRAM server-final message.

    Raises:
        SaslMessageError: the server reports an error (`e=...`) or the message is malformed.
    """
    text = _decode_utf8(message, "SCRAM server-final message")
    if text.startswith("e="):
        raise SaslMessageError(f"SCRAM server reported an error: {text[2:]}")
    if not text.startswith("v="):
        raise SaslMessageError("SCRAM server-final message must start with 'v=' or 'e='")
    return _b64decode(text[2:].split(",")[0], "SCRAM server signature")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SaslMessageError(f"{what} is not valid base64") from error


def parse_oauthbearer_token(message: bytes) -> str:
    """Return the bearer token of an OAUTHBEARER client initial response (RFC 7628).

    Raises:
        SaslMessageError: the message is malformed or carries no `auth=Bearer` value.

    >>> parse_oauthbearer_token(b"n,,\\x01auth=Bearer abc.def.ghi\\x01\\x01")
    'abc.def.ghi'
    """
    text = _decode_utf8(message, "OAUTHBEARER message")
    _, rest = _split_gs2_header(text, "OAUTHBEARER message")
    for pair in rest.split(_OAUTH_SEPARATOR):
        key, _, value = pair.partition("=")
        if key != "auth":
            continue
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SaslMessageError("OAUTHBEARER 'auth' value is not 'Bearer <token>'")
        return token.strip()
    raise SaslMessageError("OAUTHBEARER message carries no 'auth=Bearer <token>'")


def is_oauthbearer_failure_ack(message: bytes) -> bool:
    """Tell whether a client message is the lone kvsep a client sends after an error challenge.

    >>> is_oauthbearer_failure_ack(b"\\x01")
    True
    """
    return message == _OAUTH_SEPARATOR.encode()


def jwt_claim(token: str, claim: str) -> str:
    """Read one string claim from a JWT's payload, without checking its signature.

    The broker verifies the token; the gateway only needs to know whom it names.

    Raises:
        SaslMessageError: the token is not a JWT, or the claim is missing or not a string.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise SaslMessageError(f"OAUTHBEARER token has {len(parts)} dot-separated parts, not 3")
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError) as error:
        raise SaslMessageError("OAUTHBEARER token payload is not base64url JSON") from error
    value = payload.get(claim) if isinstance(payload, dict) else None
    if not isinstance(value, str) or not value:
        raise SaslMessageError(f"OAUTHBEARER token has no string claim {claim!r}")
    return value
