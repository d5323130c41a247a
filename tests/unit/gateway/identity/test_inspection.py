"""Pass-through SASL inspection: the principal is attributed only after the broker accepts."""

import base64
import json

import pytest

from chargeback.gateway.identity import SaslInspection, SaslState

SCRAM_CLIENT_FIRST = b"n,,n=svc-billing,r=fyko+d2lbbFgONRv9qkxdawL"
SCRAM_SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
SCRAM_CLIENT_FINAL = (
    b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
)
SCRAM_SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="


def _oauth_message(claims: dict[str, object]) -> bytes:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    token = f"{part(b'{}')}.{part(json.dumps(claims).encode())}.c2ln"
    return f"n,,\x01auth=Bearer {token}\x01\x01".encode()


def _authenticated_plain(user: str) -> SaslInspection:
    inspection = SaslInspection()
    inspection.handshake_requested("PLAIN", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(f"\x00{user}\x00pw".encode())
    inspection.server_message(0, b"")
    return inspection


def test_plain_user_is_attributed_after_the_broker_accepts() -> None:
    # Given a PLAIN handshake the broker accepted and a PLAIN message for "orders"
    inspection = SaslInspection()
    inspection.handshake_requested("PLAIN", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(b"\x00orders\x00secret")
    before = inspection.principal
    # When the broker answers with error 0
    outcome = inspection.server_message(0, b"", session_lifetime_ms=0)
    # Then "orders" is the principal, and was not before the answer
    assert before is None
    assert outcome.principal == "orders"
    assert inspection.principal == "orders"
    assert inspection.state is SaslState.AUTHENTICATED


def test_plain_user_refused_by_the_broker_is_never_attributed() -> None:
    # Given a PLAIN message for "orders"
    inspection = SaslInspection()
    inspection.handshake_requested("PLAIN", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(b"\x00orders\x00wrong")
    # When the broker answers SASL_AUTHENTICATION_FAILED (58)
    outcome = inspection.server_message(58, b"")
    # Then nobody is attributed and the state is FAILED
    assert outcome.principal is None
    assert inspection.principal is None
    assert inspection.state is SaslState.FAILED


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_user_is_attributed_only_after_the_server_final_message(mechanism: str) -> None:
    # Given a SCRAM exchange up to the client-final message
    inspection = SaslInspection()
    inspection.handshake_requested(mechanism, version=1)
    inspection.handshake_answered(0)
    inspection.client_message(SCRAM_CLIENT_FIRST)
    after_first = inspection.server_message(0, SCRAM_SERVER_FIRST)
    inspection.client_message(SCRAM_CLIENT_FINAL)
    # When the broker sends the server-final message with error 0
    outcome = inspection.server_message(0, SCRAM_SERVER_FINAL, session_lifetime_ms=3_600_000)
    # Then the user of the client-first message is attributed now, not at the first answer
    assert after_first.principal is None
    assert after_first.state is SaslState.AWAITING_CLIENT_MESSAGE
    assert outcome.principal == "svc-billing"
    assert inspection.session_lifetime_ms == 3_600_000


def test_scram_server_final_error_attribute_means_failure() -> None:
    # Given a SCRAM exchange up to the client-final message
    inspection = SaslInspection()
    inspection.handshake_requested("SCRAM-SHA-256", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(SCRAM_CLIENT_FIRST)
    inspection.server_message(0, SCRAM_SERVER_FIRST)
    inspection.client_message(SCRAM_CLIENT_FINAL)
    # When the server-final message is "e=invalid-proof", even with error code 0
    outcome = inspection.server_message(0, b"e=invalid-proof")
    # Then nobody is attributed
    assert outcome.principal is None
    assert inspection.state is SaslState.FAILED


def test_oauthbearer_subject_claim_is_attributed_after_an_empty_success_answer() -> None:
    # Given an OAUTHBEARER token whose sub claim is "svc-analytics"
    inspection = SaslInspection()
    inspection.handshake_requested("OAUTHBEARER", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(_oauth_message({"sub": "svc-analytics", "azp": "spark"}))
    # When the broker answers with error 0 and no bytes
    outcome = inspection.server_message(0, b"")
    # Then the sub claim is the principal
    assert outcome.principal == "svc-analytics"


def test_oauthbearer_claim_name_is_configurable() -> None:
    # Given an inspection that reads the "azp" claim
    inspection = SaslInspection(oauth_claim="azp")
    inspection.handshake_requested("OAUTHBEARER", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(_oauth_message({"sub": "user-1", "azp": "spark"}))
    # When the broker accepts
    outcome = inspection.server_message(0, b"")
    # Then the azp claim is the principal
    assert outcome.principal == "spark"


def test_oauthbearer_error_challenge_then_failure_attributes_nobody() -> None:
    # Given an OAUTHBEARER token the broker does not like
    inspection = SaslInspection()
    inspection.handshake_requested("OAUTHBEARER", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(_oauth_message({"sub": "svc-x"}))
    challenge = inspection.server_message(0, b'{"status":"invalid_token"}')
    inspection.client_message(b"\x01")
    # When the broker fails the exchange after the client's acknowledgement
    outcome = inspection.server_message(58, b"")
    # Then the error challenge was not a success, and nobody is attributed
    assert challenge.principal is None
    assert outcome.principal is None
    assert inspection.principal is None


def test_reauthentication_keeps_the_old_principal_until_the_new_one_succeeds() -> None:
    # Given a connection authenticated as "alice" that starts a KIP-368 re-authentication as "bob"
    inspection = _authenticated_plain("alice")
    inspection.handshake_requested("PLAIN", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(b"\x00bob\x00pw")
    during = inspection.principal
    reauthenticating = inspection.is_reauthenticating
    # When the broker accepts the re-authentication
    inspection.server_message(0, b"")
    # Then "alice" held until then and "bob" holds now
    assert (during, reauthenticating) == ("alice", True)
    assert inspection.principal == "bob"
    assert inspection.authentications == 2


def test_failed_reauthentication_leaves_the_old_principal() -> None:
    # Given a connection authenticated as "alice" that re-authenticates as "mallory"
    inspection = _authenticated_plain("alice")
    inspection.handshake_requested("PLAIN", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(b"\x00mallory\x00pw")
    # When the broker refuses
    inspection.server_message(58, b"")
    # Then "mallory" is never attributed
    assert inspection.principal == "alice"
    assert inspection.state is SaslState.FAILED


def test_refused_handshake_attributes_nobody_and_later_answers_change_nothing() -> None:
    # Given a handshake for a mechanism the broker refuses (UNSUPPORTED_SASL_MECHANISM)
    inspection = SaslInspection()
    inspection.handshake_requested("PLAIN", version=1)
    inspection.handshake_answered(33)
    # When a stray authenticate exchange follows anyway
    inspection.client_message(b"\x00eve\x00pw")
    outcome = inspection.server_message(0, b"")
    # Then nobody is attributed
    assert outcome.principal is None
    assert inspection.principal is None


def test_legacy_v0_handshake_expects_raw_tokens_until_done() -> None:
    # Given a SaslHandshake v0 the broker accepted
    inspection = SaslInspection()
    inspection.handshake_requested("PLAIN", version=0)
    inspection.handshake_answered(0)
    expects_before = inspection.expects_raw_token
    inspection.client_message(b"\x00legacy\x00pw")
    # When the broker's raw (empty) token comes back
    inspection.server_message(0, b"")
    # Then raw framing was expected before, not after, and the user is attributed
    assert expects_before
    assert not inspection.expects_raw_token
    assert inspection.principal == "legacy"


def test_unreadable_mechanism_attributes_nobody_by_name() -> None:
    # Given a GSSAPI exchange (the gateway cannot read Kerberos tokens)
    inspection = SaslInspection()
    inspection.handshake_requested("GSSAPI", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(b"\x60\x82kerberos")
    # When the broker answers
    outcome = inspection.server_message(0, b"\x60\x82more")
    # Then no principal is made up
    assert outcome.principal is None
    assert inspection.principal is None


def test_malformed_plain_message_accepted_by_the_broker_is_anonymous_with_a_reason() -> None:
    # Given a PLAIN message the gateway cannot read (only two parts)
    inspection = SaslInspection()
    inspection.handshake_requested("PLAIN", version=1)
    inspection.handshake_answered(0)
    inspection.client_message(b"odd\x00message")
    # When the broker nevertheless accepts
    outcome = inspection.server_message(0, b"")
    # Then the connection is ANONYMOUS and the reason is kept for the log
    assert outcome.principal == "ANONYMOUS"
    assert outcome.problem is not None
    assert "PLAIN" in outcome.problem
