"""SASL message parsing: PLAIN, SCRAM and OAUTHBEARER syntax, with RFC examples."""

import base64
import doctest
import json

import pytest

from chargeback.gateway.identity import SaslMessageError, _sasl_messages
from chargeback.gateway.identity._sasl_messages import (
    decode_saslname,
    jwt_claim,
    parse_oauthbearer_token,
    parse_plain,
    parse_scram_client_final,
    parse_scram_client_first,
    parse_scram_server_first,
)


def _jwt(payload: dict[str, object]) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "none"}).encode())
    return f"{header}.{part(json.dumps(payload).encode())}.sig"


def test_the_doctests_of_the_message_module_pass() -> None:
    # Given the module's examples
    # When they run
    failures, tests = doctest.testmod(_sasl_messages)
    # Then they all pass
    assert tests > 0
    assert failures == 0


def test_plain_message_yields_authzid_user_and_password() -> None:
    # Given a PLAIN message with an authzid
    message = b"admin\x00alice\x00s3cr3t"
    # When it is parsed
    parsed = parse_plain(message)
    # Then the three parts come out, and the password stays out of the repr
    assert (parsed.authzid, parsed.authcid, parsed.password) == ("admin", "alice", "s3cr3t")
    assert "s3cr3t" not in repr(parsed)


@pytest.mark.parametrize("message", [b"alice", b"\x00alice", b"\x00\x00pw", b"a\x00b\x00c\x00d"])
def test_malformed_plain_message_is_refused(message: bytes) -> None:
    # Given a PLAIN message without exactly three parts or with no user
    # When it is parsed
    # Then it is refused with a message naming PLAIN
    with pytest.raises(SaslMessageError, match="PLAIN"):
        parse_plain(message)


def test_scram_client_first_of_rfc_7677_names_the_user_and_nonce() -> None:
    # Given the client-first message of RFC 7677 section 3
    message = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    # When it is parsed
    first = parse_scram_client_first(message)
    # Then user, nonce and the bare part are as in the RFC
    assert first.username == "user"
    assert first.client_nonce == "rOprNGfwEbeRWgbNEkqO"
    assert first.bare == "n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert first.gs2_header == "n,,"


def test_scram_user_name_with_escaped_comma_and_equals_is_decoded() -> None:
    # Given a user name "a,b=c" escaped as RFC 5802 asks, with an authzid
    message = b"n,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=xyz"
    # When it is parsed
    first = parse_scram_client_first(message)
    # Then the name is decoded
    assert first.username == "a,b=c"


@pytest.mark.parametrize(
    "message",
    [b"n=user,r=abc", b"n,,r=abc,n=user", b"x,,n=user,r=abc", b"n,,n=us=2Aer,r=abc", b"n,,m=1"],
)
def test_malformed_scram_client_first_is_refused(message: bytes) -> None:
    # Given a client-first message that breaks RFC 5802's syntax
    # When it is parsed
    # Then it is refused
    with pytest.raises(SaslMessageError):
        parse_scram_client_first(message)


def test_bad_saslname_escape_is_refused_with_the_escape_named() -> None:
    # Given a name with "=" not followed by 2C or 3D
    # When it is decoded
    # Then the error names the bad escape
    with pytest.raises(SaslMessageError, match="=41"):
        decode_saslname("x=41")


def test_scram_client_final_splits_off_the_proof() -> None:
    # Given the client-final message of RFC 7677 section 3
    message = (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    # When it is parsed
    final = parse_scram_client_final(message)
    # Then the proof is the decoded base64 and the rest is kept for the AuthMessage
    assert final.proof == base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    assert final.without_proof == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"


def test_scram_server_first_yields_salt_and_iterations() -> None:
    # Given the server-first message of RFC 7677 section 3
    message = (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    # When it is parsed
    first = parse_scram_server_first(message)
    # Then salt and iterations are as given
    assert first.salt == base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    assert first.iterations == 4096


def test_oauthbearer_token_is_read_from_the_initial_response() -> None:
    # Given an initial client response as RFC 7628 section 4.1 shows it, with a host and port
    message = (
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        b"auth=Bearer vF9dft4qmT\x01\x01"
    )
    # When the token is read
    token = parse_oauthbearer_token(message)
    # Then it is the bearer value
    assert token == "vF9dft4qmT"


def test_oauthbearer_message_without_auth_is_refused() -> None:
    # Given an initial response with no auth pair
    # When the token is read
    # Then the error says what is missing
    with pytest.raises(SaslMessageError, match="auth=Bearer"):
        parse_oauthbearer_token(b"n,,\x01host=x\x01\x01")


def test_jwt_claim_is_read_without_a_signature_check() -> None:
    # Given a JWT whose payload names a subject and a client id
    token = _jwt({"sub": "svc-orders", "azp": "orders-app", "exp": 1})
    # When each claim is read
    # Then each comes out of the payload
    assert jwt_claim(token, "sub") == "svc-orders"
    assert jwt_claim(token, "azp") == "orders-app"


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("opaque-token", "3"),
        (_jwt({"sub": 7}), "sub"),
        (_jwt({"x": "y"}), "sub"),
        ("a.!!!.c", "JSON"),
    ],
)
def test_unreadable_jwt_claim_is_refused(token: str, problem: str) -> None:
    # Given a token that is not a JWT or lacks a string "sub" claim
    # When the claim is read
    # Then the error says why
    with pytest.raises(SaslMessageError, match=problem):
        jwt_claim(token, "sub")
