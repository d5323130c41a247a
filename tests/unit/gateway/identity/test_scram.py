"""SCRAM: key derivation and both sides of the exchange, against RFC 7677's example."""

import base64
import doctest
import hashlib
import hmac

import pytest

from chargeback.gateway.identity import (
    SCRAM_SHA_256,
    SCRAM_SHA_512,
    SaslMessageError,
    ScramClientExchange,
    ScramCredential,
    _scram,
    make_credential,
    password_matches,
)
from chargeback.gateway.identity._scram import ScramServerExchange

# RFC 7677 section 3: user "user", password "pencil".
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE_SUFFIX = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
RFC_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_the_doctests_of_the_scram_module_pass() -> None:
    # Given the module's examples
    # When they run
    failures, tests = doctest.testmod(_scram)
    # Then they all pass
    assert tests > 0
    assert failures == 0


def _rfc_credential() -> ScramCredential:
    return make_credential("user", SCRAM_SHA_256, "pencil", iterations=4096, salt=RFC_SALT)


def test_server_answers_the_rfc_7677_exchange_with_its_server_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a server holding the RFC's credential and using the RFC's server nonce
    monkeypatch.setattr(_scram, "_new_nonce", lambda: RFC_SERVER_NONCE_SUFFIX)
    credential = _rfc_credential()
    server = ScramServerExchange(SCRAM_SHA_256, lambda name, mech: credential)
    server_first = server.first(b"n,,n=user,r=" + RFC_CLIENT_NONCE.encode())
    # When the RFC's client-final message arrives
    server_final = server.final(RFC_CLIENT_FINAL)
    # Then both server messages are the RFC's, byte for byte
    assert server_first == RFC_SERVER_FIRST
    assert server_final == RFC_SERVER_FINAL


def test_client_builds_the_rfc_7677_proof_and_accepts_its_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a client using the RFC's client nonce
    monkeypatch.setattr(_scram, "_new_nonce", lambda: RFC_CLIENT_NONCE)
    client = ScramClientExchange(SCRAM_SHA_256, "user", "pencil")
    client_first = client.first()
    # When it answers the RFC's server-first message
    client_final = client.final(RFC_SERVER_FIRST)
    # Then its messages are the RFC's, and the RFC's server signature is accepted
    assert client_first == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert client_final == RFC_CLIENT_FINAL
    client.verify(RFC_SERVER_FINAL)


@pytest.mark.parametrize("mechanism", [SCRAM_SHA_256, SCRAM_SHA_512])
def test_client_and_server_agree_on_the_right_password(mechanism: str) -> None:
    # Given a stored credential for "svc,a=b" and a client that knows the password
    credential = make_credential("svc,a=b", mechanism, "correct horse", iterations=4096)
    server = ScramServerExchange(mechanism, lambda name, mech: credential)
    client = ScramClientExchange(mechanism, "svc,a=b", "correct horse")
    # When they run the whole exchange
    server_final = server.final(client.final(server.first(client.first())))
    # Then the server accepts, names the user, and the client accepts the server
    assert server_final is not None
    assert server.username == "svc,a=b"
    client.verify(server_final)


@pytest.mark.parametrize("mechanism", [SCRAM_SHA_256, SCRAM_SHA_512])
def test_server_refuses_a_wrong_password(mechanism: str) -> None:
    # Given a stored credential and a client with another password
    credential = make_credential("svc", mechanism, "right", iterations=4096)
    server = ScramServerExchange(mechanism, lambda name, mech: credential)
    client = ScramClientExchange(mechanism, "svc", "wrong")
    # When they run the exchange
    server_final = server.final(client.final(server.first(client.first())))
    # Then the server refuses
    assert server_final is None


def test_unknown_user_gets_a_challenge_and_then_a_refusal() -> None:
    # Given a server that knows nobody
    server = ScramServerExchange(SCRAM_SHA_256, lambda name, mech: None)
    client = ScramClientExchange(SCRAM_SHA_256, "ghost", "pw")
    # When the ghost runs the exchange
    server_first = server.first(client.first())
    server_final = server.final(client.final(server_first))
    # Then it was challenged like a real user, and refused at the end
    assert b",s=" in server_first
    assert server_final is None


def test_client_final_with_a_changed_nonce_is_refused() -> None:
    # Given a server that sent its server-first message
    credential = make_credential("svc", SCRAM_SHA_256, "pw", iterations=4096)
    server = ScramServerExchange(SCRAM_SHA_256, lambda name, mech: credential)
    server.first(b"n,,n=svc,r=abc")
    # When the client-final carries another nonce
    # Then it is refused as a protocol error
    with pytest.raises(SaslMessageError, match="nonce"):
        server.final(b"c=biws,r=abcOTHER,p=AAAA")


def test_client_notices_a_server_that_signs_wrongly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a client in the middle of the RFC exchange
    monkeypatch.setattr(_scram, "_new_nonce", lambda: RFC_CLIENT_NONCE)
    client = ScramClientExchange(SCRAM_SHA_256, "user", "pencil")
    client.first()
    client.final(RFC_SERVER_FIRST)
    # When the server's signature is not the expected one
    # Then the client refuses it
    with pytest.raises(SaslMessageError, match="signature"):
        client.verify(b"v=" + base64.b64encode(b"x" * 32))


def test_password_matches_only_the_password_the_credential_was_made_from() -> None:
    # Given a credential made from a password
    credential = make_credential("svc", SCRAM_SHA_512, "pw-1", iterations=4096)
    # When passwords are checked against it
    # Then only the right one matches, and the credential holds no password
    assert password_matches(credential, "pw-1")
    assert not password_matches(credential, "pw-2")
    assert "pw-1" not in repr(credential)


def test_too_few_iterations_are_refused() -> None:
    # Given fewer iterations than RFC 7677 asks for
    # When a credential is made
    # Then it is refused
    with pytest.raises(ValueError, match="4096"):
        make_credential("svc", SCRAM_SHA_256, "pw", iterations=1000)


def test_client_final_nonce_that_repeats_the_client_nonce_is_accepted_as_kafka_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the RFC 7677 exchange up to the server-first message
    monkeypatch.setattr(_scram, "_new_nonce", lambda: RFC_SERVER_NONCE_SUFFIX)
    credential = _rfc_credential()
    server = ScramServerExchange(SCRAM_SHA_256, lambda name, mech: credential)
    client_first_bare = "n=user,r=" + RFC_CLIENT_NONCE
    server.first(b"n,,n=user,r=" + RFC_CLIENT_NONCE.encode())
    # When the client-final message repeats the client nonce in front of the agreed nonce, as
    # librdkafka 2.0 does, with a proof computed over exactly that message (RFC 5802 section 3)
    nonce = RFC_CLIENT_NONCE + RFC_CLIENT_NONCE + RFC_SERVER_NONCE_SUFFIX
    without_proof = f"c=biws,r={nonce}"
    auth_message = f"{client_first_bare},{RFC_SERVER_FIRST.decode()},{without_proof}".encode()
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", RFC_SALT, 4096)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, "sha256").digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True)))
    server_final = server.final(f"{without_proof},p={proof.decode()}".encode())
    # Then the server accepts, as Kafka's ScramSaslServer does (it checks only the nonce's end)
    assert server_final is not None
