"""The identity handlers with kio-built frames: pass-through inspection, managed SASL (local
replies and the request gate), TLS principals, and the gateway's own upstream login."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
from typing import Any

import pytest
from kio.schema.api_versions.v3.request import ApiVersionsRequest
from kio.schema.api_versions.v3.response import ApiVersion, ApiVersionsResponse
from kio.schema.errors import ErrorCode
from kio.schema.sasl_authenticate.v0 import SaslAuthenticateRequest as AuthenticateRequestV0
from kio.schema.sasl_authenticate.v1 import SaslAuthenticateResponse as AuthenticateResponseV1
from kio.schema.sasl_authenticate.v2 import SaslAuthenticateRequest as AuthenticateRequestV2
from kio.schema.sasl_authenticate.v2 import SaslAuthenticateResponse as AuthenticateResponseV2
from kio.schema.sasl_handshake.v0 import SaslHandshakeRequest as HandshakeRequestV0
from kio.schema.sasl_handshake.v1 import SaslHandshakeRequest as HandshakeRequestV1
from kio.schema.sasl_handshake.v1 import SaslHandshakeResponse as HandshakeResponseV1
from kio.serial import entity_reader
from kio.static.primitive import i16, i64Timedelta

from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.errors import FrameError, UpstreamError
from chargeback.gateway.frames import encode_response
from chargeback.gateway.handlers import sasl_managed
from chargeback.gateway.handlers.sasl_inspection import SaslInspector
from chargeback.gateway.handlers.sasl_managed import ManagedSaslAuthenticator
from chargeback.gateway.handlers.sasl_upstream import (
    UpstreamLogin,
    decode_response,
    encode_request,
)
from chargeback.gateway.handlers.tls_principal import TlsPrincipal
from chargeback.gateway.identity import (
    DEFAULT_ITERATIONS,
    SCRAM_MECHANISMS,
    CredentialSnapshot,
    IdentitySettings,
    ManagedSasl,
    SaslMode,
    ScramClientExchange,
    UpstreamSasl,
    _scram,
    make_credential,
    parse_mapping_rules,
)
from chargeback.gateway.identity._scram import UNKNOWN_USER_CREDENTIAL
from chargeback.gateway.wire import RequestHeader
from tests.unit.gateway.framing import make_context as make_core_context
from tests.unit.gateway.framing import request_frame, request_header_for, response_frame

CREDENTIALS = CredentialSnapshot(
    make_credential("alice", mechanism, "alice-pw", iterations=4096)
    for mechanism in SCRAM_MECHANISMS
)


def _context(**identity: Any) -> ConnectionContext:
    context = make_core_context()
    context.principal = context.principal.__class__("ANONYMOUS")
    settings = dataclasses.replace(context.shared.settings, identity=IdentitySettings(**identity))
    context.shared = dataclasses.replace(context.shared, settings=settings)
    return context


def _exchange(inspector: SaslInspector, request: Any, response: Any, correlation_id: int) -> None:
    frame = request_frame(request, correlation_id)
    getattr(inspector, f"on_{_name(request)}_request")(frame)
    answer = response_frame(response, request_header_for(request, correlation_id))
    getattr(inspector, f"on_{_name(request)}_response")(answer)


def _name(message: Any) -> str:
    return "sasl_handshake" if message.__api_key__ == 17 else "sasl_authenticate"


def _reply(frame: Any) -> Any:
    """The handler's local reply, encoded as the gateway sends it, decoded again by kio.

    A deferred reply is made first, as the connection loop makes it (here without a thread).
    """
    if frame.deferred_reply is not None:
        deferred, frame.deferred_reply = frame.deferred_reply, None
        frame.reply(deferred.answer(deferred.work()))
    raw = encode_response(frame.header, frame.local_reply)
    header_bytes = 5 if type(frame.local_reply).__flexible__ else 4  # header v1 / v0
    message, _ = entity_reader(type(frame.local_reply))(raw, header_bytes)
    return message


# --- pass-through inspection -------------------------------------------------------------------


def test_inspector_sets_the_principal_only_when_the_broker_accepts() -> None:
    # Given a pass-through connection that did a PLAIN handshake
    context = _context()
    inspector = SaslInspector(context)
    _exchange(
        inspector,
        HandshakeRequestV1(mechanism="PLAIN"),
        HandshakeResponseV1(error_code=ErrorCode.none, mechanisms=("PLAIN",)),
        1,
    )
    request = AuthenticateRequestV2(auth_bytes=b"\x00svc-orders\x00pw")
    inspector.on_sasl_authenticate_request(request_frame(request, 2))
    before = context.principal
    # When the broker answers with error 0
    answer = AuthenticateResponseV2(error_code=ErrorCode.none, error_message=None, auth_bytes=b"")
    inspector.on_sasl_authenticate_response(response_frame(answer, request_header_for(request, 2)))
    # Then the user name is the principal from then on
    assert before == "ANONYMOUS"
    assert context.principal == "svc-orders"


def test_inspector_attributes_nobody_when_the_broker_refuses() -> None:
    # Given a pass-through connection sending PLAIN credentials
    context = _context()
    inspector = SaslInspector(context)
    _exchange(
        inspector,
        HandshakeRequestV1(mechanism="PLAIN"),
        HandshakeResponseV1(error_code=ErrorCode.none, mechanisms=("PLAIN",)),
        1,
    )
    # When the broker answers SASL_AUTHENTICATION_FAILED
    _exchange(
        inspector,
        AuthenticateRequestV2(auth_bytes=b"\x00svc-orders\x00wrong"),
        AuthenticateResponseV2(
            error_code=ErrorCode.sasl_authentication_failed, error_message="no", auth_bytes=b""
        ),
        2,
    )
    # Then the connection stays ANONYMOUS
    assert context.principal == "ANONYMOUS"


def test_inspector_reads_the_configured_oauthbearer_claim() -> None:
    # Given a pass-through connection configured to read the "client_id" claim
    context = _context(oauth_claim="client_id")
    inspector = SaslInspector(context)
    claims = base64.urlsafe_b64encode(json.dumps({"sub": "u1", "client_id": "etl"}).encode())
    token = f"e30.{claims.decode().rstrip('=')}.c2ln"
    _exchange(
        inspector,
        HandshakeRequestV1(mechanism="OAUTHBEARER"),
        HandshakeResponseV1(error_code=ErrorCode.none, mechanisms=("OAUTHBEARER",)),
        1,
    )
    # When the broker accepts the token (SaslAuthenticate v1, with a session lifetime)
    _exchange(
        inspector,
        AuthenticateRequestV2(auth_bytes=f"n,,\x01auth=Bearer {token}\x01\x01".encode()),
        AuthenticateResponseV2(
            error_code=ErrorCode.none,
            error_message=None,
            auth_bytes=b"",
            session_lifetime=i64Timedelta.parse(datetime.timedelta(minutes=5)),
        ),
        2,
    )
    # Then the claim is the principal
    assert context.principal == "etl"


def test_inspector_closes_the_connection_on_a_v0_handshake() -> None:
    # Given a pass-through connection
    inspector = SaslInspector(_context())
    # When the client asks for SaslHandshake v0 (raw tokens would follow)
    # Then the connection is closed with a reason
    with pytest.raises(FrameError, match="v0"):
        inspector.on_sasl_handshake_request(request_frame(HandshakeRequestV0(mechanism="PLAIN")))


# --- managed SASL ------------------------------------------------------------------------------


def _managed(**identity: Any) -> tuple[ConnectionContext, ManagedSaslAuthenticator]:
    context = _context(sasl_mode=SaslMode.MANAGED, credentials=CREDENTIALS, **identity)
    handler = ManagedSaslAuthenticator(context)
    handler.on_connection_open()
    return context, handler


def _header(api_key: int) -> RequestHeader:
    return RequestHeader(api_key, 0, 1, "unit-test", 0)


def test_managed_gateway_answers_the_handshake_itself() -> None:
    # Given a managed connection
    _, handler = _managed()
    frame = request_frame(HandshakeRequestV1(mechanism="SCRAM-SHA-256"))
    # When the client asks for SCRAM-SHA-256
    handler.on_sasl_handshake_request(frame)
    # Then the gateway replies locally (nothing goes to the broker), listing its mechanisms
    reply = _reply(frame)
    assert reply.error_code == ErrorCode.none
    assert set(reply.mechanisms) == {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}


def test_managed_gateway_refuses_a_mechanism_it_does_not_offer() -> None:
    # Given a managed connection
    _, handler = _managed()
    frame = request_frame(HandshakeRequestV1(mechanism="GSSAPI"))
    # When the client asks for GSSAPI
    handler.on_sasl_handshake_request(frame)
    # Then the reply is UNSUPPORTED_SASL_MECHANISM
    assert _reply(frame).error_code == ErrorCode.unsupported_sasl_mechanism


def test_managed_gateway_gates_requests_until_plain_login_succeeds() -> None:
    # Given a managed connection
    context, handler = _managed()
    assert context.admit is not None
    context.admit(_header(18))  # ApiVersions may come first
    handler.on_sasl_handshake_request(request_frame(HandshakeRequestV1(mechanism="PLAIN")))
    login = request_frame(AuthenticateRequestV0(auth_bytes=b"\x00alice\x00alice-pw"), 2)
    # When alice logs in with the right password
    handler.on_sasl_authenticate_request(login)
    # Then the reply is a success, alice is the principal, and Produce may pass
    assert _reply(login).error_code == ErrorCode.none
    assert context.principal == "alice"
    context.admit(_header(0))


def test_managed_gateway_closes_a_connection_whose_first_request_is_not_sasl() -> None:
    # Given a new managed connection
    context, _ = _managed()
    assert context.admit is not None
    # When its first request is a Produce
    # Then the connection is closed
    with pytest.raises(FrameError, match="before authentication"):
        context.admit(_header(0))


def test_managed_gateway_refuses_a_wrong_plain_password() -> None:
    # Given a managed connection after a PLAIN handshake
    context, handler = _managed()
    handler.on_sasl_handshake_request(request_frame(HandshakeRequestV1(mechanism="PLAIN")))
    login = request_frame(AuthenticateRequestV2(auth_bytes=b"\x00alice\x00guess"), 2)
    # When alice's name comes with a wrong password
    handler.on_sasl_authenticate_request(login)
    # Then the reply is SASL_AUTHENTICATION_FAILED, nobody is attributed, and nothing passes
    assert _reply(login).error_code == ErrorCode.sasl_authentication_failed
    assert context.principal == "ANONYMOUS"
    assert context.admit is not None
    with pytest.raises(FrameError):
        context.admit(_header(0))


class DerivationSpy:
    """Records the (salt, iterations) of every PBKDF2 key derivation, then derives."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, int]] = []
        self._derive = _scram.salted_password

    def __call__(self, mechanism: str, password: str, salt: bytes, iterations: int) -> bytes:
        self.calls.append((salt, iterations))
        return self._derive(mechanism, password, salt, iterations)


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> DerivationSpy:
    spy = DerivationSpy()
    monkeypatch.setattr(_scram, "salted_password", spy)
    return spy


def _plain_login(user: str, password: str) -> Any:
    _, handler = _managed()
    handler.on_sasl_handshake_request(request_frame(HandshakeRequestV1(mechanism="PLAIN")))
    login = request_frame(AuthenticateRequestV2(auth_bytes=f"\x00{user}\x00{password}".encode()))
    handler.on_sasl_authenticate_request(login)
    return login


def test_a_plain_login_is_checked_after_the_hook_returns_not_inside_it(
    derivations: DerivationSpy,
) -> None:
    # Given a managed connection after a PLAIN handshake
    # When alice's login passes the hook
    login = _plain_login("alice", "alice-pw")
    # Then no key was derived yet: the hook left the check to a worker thread (DeferredReply)
    assert derivations.calls == []
    assert login.local_reply is None
    assert login.deferred_reply is not None
    assert _reply(login).error_code == ErrorCode.none
    assert len(derivations.calls) == 1


def test_a_plain_login_of_an_unknown_user_derives_a_key_like_a_known_user(
    derivations: DerivationSpy,
) -> None:
    # Given a PLAIN login of a user nobody added
    login = _plain_login("mallory", "guess")
    # When it is checked
    reply = _reply(login)
    # Then it was refused after one key derivation, against the dummy credential
    assert reply.error_code == ErrorCode.sasl_authentication_failed
    assert derivations.calls == [(UNKNOWN_USER_CREDENTIAL.salt, UNKNOWN_USER_CREDENTIAL.iterations)]
    assert UNKNOWN_USER_CREDENTIAL.iterations == DEFAULT_ITERATIONS


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer() -> None:
    # Given a PLAIN login of an unknown user, and one of alice with a wrong password
    unknown = _plain_login("mallory", "guess")
    wrong_password = _plain_login("alice", "guess")
    # When both are checked
    answers = [_reply(unknown), _reply(wrong_password)]
    # Then the client cannot tell them apart
    assert answers[0] == answers[1]
    assert answers[0].error_code == ErrorCode.sasl_authentication_failed
    assert "mallory" not in str(answers[0])


@pytest.mark.parametrize("mechanism", SCRAM_MECHANISMS)
def test_managed_gateway_runs_scram_and_tells_the_session_lifetime(mechanism: str) -> None:
    # Given a managed connection whose sessions last one hour, and a SCRAM client
    context, handler = _managed(session_lifetime_ms=3_600_000)
    client = ScramClientExchange(mechanism, "alice", "alice-pw")
    handler.on_sasl_handshake_request(request_frame(HandshakeRequestV1(mechanism=mechanism)))
    first = request_frame(AuthenticateRequestV2(auth_bytes=client.first()), 2)
    handler.on_sasl_authenticate_request(first)
    final = request_frame(
        AuthenticateRequestV2(auth_bytes=client.final(_reply(first).auth_bytes)), 3
    )
    # When the client-final message arrives
    handler.on_sasl_authenticate_request(final)
    # Then the server signature checks out, alice is attributed, and the lifetime is sent
    reply = _reply(final)
    client.verify(reply.auth_bytes)
    assert context.principal == "alice"
    assert reply.session_lifetime == datetime.timedelta(hours=1)


def test_managed_session_expires_without_reauthentication(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a connection logged in at t=1000 ms with sessions of 500 ms
    monkeypatch.setattr(sasl_managed, "_now_ms", lambda: 1000.0)
    context, handler = _managed(session_lifetime_ms=500)
    handler.on_sasl_handshake_request(request_frame(HandshakeRequestV1(mechanism="PLAIN")))
    login = request_frame(AuthenticateRequestV2(auth_bytes=b"\x00alice\x00alice-pw"), 2)
    handler.on_sasl_authenticate_request(login)
    assert _reply(login).error_code == ErrorCode.none
    assert context.admit is not None
    context.admit(_header(0))
    # When a request comes at t=1500 ms without a re-authentication
    monkeypatch.setattr(sasl_managed, "_now_ms", lambda: 1500.0)
    # Then the connection is closed
    with pytest.raises(FrameError, match="expired"):
        context.admit(_header(0))


def test_managed_gateway_adds_sasl_apis_to_api_versions() -> None:
    # Given a broker without SASL that offers only Produce in ApiVersions
    _, handler = _managed()
    request = ApiVersionsRequest(client_software_name="t", client_software_version="1")
    offered = ApiVersionsResponse(
        error_code=ErrorCode.none,
        api_keys=(ApiVersion(api_key=i16(0), min_version=i16(3), max_version=i16(11)),),
        throttle_time=datetime.timedelta(0),
    )
    frame = response_frame(offered, request_header_for(request))
    # When the response passes the handler
    handler.on_api_versions_response(frame)
    # Then SaslHandshake and SaslAuthenticate are offered too, Produce unchanged
    versions = {(k.api_key, k.min_version, k.max_version) for k in frame.message().api_keys}
    assert versions == {(0, 3, 11), (17, 0, 1), (36, 0, 2)}


# --- TLS principals ----------------------------------------------------------------------------


def _tls_context(subject: Any, rules: str) -> ConnectionContext:
    context = _context(principal_rules=parse_mapping_rules(rules))
    context.peer_certificate = {"subject": subject} if subject is not None else None
    TlsPrincipal(context).on_connection_open()
    return context


def test_tls_principal_is_the_mapped_certificate_subject() -> None:
    # Given a client certificate for CN=Billing,OU=Kafka,O=Acme
    subject = (
        (("organizationName", "Acme"),),
        (("organizationalUnitName", "Kafka"),),
        (("commonName", "Billing"),),
    )
    # When the connection opens with a lower-casing CN rule
    context = _tls_context(subject, "RULE:^CN=([^,]+),OU=Kafka,.*$/$1/L")
    # Then the principal is the mapped name
    assert context.principal == "billing"
    assert context.admit is None


def test_tls_subject_no_rule_maps_closes_the_connection_at_its_first_request() -> None:
    # Given a certificate from another OU than the only rule accepts
    subject = ((("organizationalUnitName", "Web"),), (("commonName", "site"),))
    # When the connection opens
    context = _tls_context(subject, "RULE:^CN=([^,]+),OU=Kafka$/$1/")
    # Then it stays ANONYMOUS and its first request closes it
    assert context.principal == "ANONYMOUS"
    assert context.admit is not None
    with pytest.raises(FrameError, match="CN=site,OU=Web"):
        context.admit(_header(18))


def test_tls_subject_mapped_to_an_empty_name_closes_the_connection_at_its_first_request() -> None:
    # Given a certificate whose CN the only rule turns into an empty name
    subject = ((("commonName", "lost"),),)
    # When the connection opens
    context = _tls_context(subject, "RULE:^CN=lost$//")
    # Then nobody is charged under an empty name: it stays ANONYMOUS and is closed
    assert context.principal == "ANONYMOUS"
    assert context.admit is not None
    with pytest.raises(FrameError, match="gives an empty name"):
        context.admit(_header(18))


def test_tls_connection_without_a_client_certificate_is_anonymous() -> None:
    # Given no client certificate
    # When the connection opens
    context = _tls_context(None, "DEFAULT")
    # Then it is ANONYMOUS
    assert context.principal == "ANONYMOUS"


# --- the gateway's own upstream login ----------------------------------------------------------


def _serve(server: ManagedSasl, auth_bytes: bytes) -> AuthenticateResponseV1:
    answer = server.authenticate(auth_bytes, now_ms=0)
    return AuthenticateResponseV1(
        error_code=ErrorCode(answer.error_code),
        error_message=answer.error_message,
        auth_bytes=answer.auth_bytes,
        session_lifetime=i64Timedelta.parse(datetime.timedelta(0)),
    )


@pytest.mark.parametrize("mechanism", ["PLAIN", *SCRAM_MECHANISMS])
def test_upstream_login_completes_against_a_scram_server(mechanism: str) -> None:
    # Given the gateway's login as alice and a server that knows alice
    login = UpstreamLogin(UpstreamSasl(mechanism, "alice", "alice-pw"))
    server = ManagedSasl(CREDENTIALS)
    server.handshake(login.handshake().mechanism)
    # When the messages go back and forth until the login says it is done
    message: bytes | None = login.first_message()
    rounds = 0
    while message is not None:
        message = login.next_message(_serve(server, message))
        rounds += 1
    # Then the server accepted alice, after one round for PLAIN and two for SCRAM
    assert server.principal == "alice"
    assert rounds == (1 if mechanism == "PLAIN" else 2)


def test_upstream_login_refusal_names_the_user_and_mechanism() -> None:
    # Given the gateway's login with a wrong password
    login = UpstreamLogin(UpstreamSasl("PLAIN", "alice", "nope"))
    server = ManagedSasl(CREDENTIALS)
    server.handshake("PLAIN")
    # When the server answers
    answer = _serve(server, login.first_message())
    # Then the login fails with an error naming both
    with pytest.raises(UpstreamError, match="PLAIN login as 'alice'"):
        login.next_message(answer)


def test_upstream_request_frames_round_trip_through_kio() -> None:
    # Given a SaslHandshake request encoded for the wire
    frame = encode_request(7, HandshakeRequestV1(mechanism="SCRAM-SHA-512"))
    # When its size prefix and header are read back
    size = int.from_bytes(frame[:4], "big")
    # Then the size is right, and a response in the same shape decodes
    assert size == len(frame) - 4
    response = b"\x00\x00\x00\x07" + b"\x00\x00" + b"\x00\x00\x00\x01" + b"\x00\x05PLAIN"
    decoded = decode_response(response, HandshakeResponseV1)
    assert decoded.mechanisms == ("PLAIN",)
