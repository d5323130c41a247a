"""The gateway's own SASL login to a broker, right after it opens an upstream connection
(`--upstream-sasl-mechanism`, `--upstream-sasl-username`, `--upstream-sasl-password-file`).

It speaks SaslHandshake v1 and SaslAuthenticate v1 (Kafka 2.2+), before any client request
is forwarded on that connection. Not a chain handler: the server awaits it once per connection.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.response_header.v0.header import ResponseHeader as ResponseHeaderV0
from kio.schema.sasl_authenticate.v1 import SaslAuthenticateRequest, SaslAuthenticateResponse
from kio.schema.sasl_handshake.v1 import SaslHandshakeRequest, SaslHandshakeResponse
from kio.serial import entity_reader, entity_writer
from kio.serial.errors import BufferUnderflow
from kio.static.primitive import i32

from chargeback.gateway import wire
from chargeback.gateway.errors import FrameError, UpstreamError
from chargeback.gateway.identity import (
    PLAIN,
    SaslMessageError,
    ScramClientExchange,
    UpstreamSasl,
    build_plain,
)

_CLIENT_ID = "chargeback-gateway"


def encode_request(correlation_id: int, message: Any) -> bytes:
    """Encode a request (header v1, non-flexible APIs only) with its size prefix."""
    out = io.BytesIO()
    header = RequestHeaderV1(
        request_api_key=message.__api_key__,
        request_api_version=message.__version__,
        correlation_id=i32(correlation_id),
        client_id=_CLIENT_ID,
    )
    entity_writer(RequestHeaderV1)(out, header)
    entity_writer(type(message))(out, message)
    payload = out.getvalue()
    return wire.size_prefix(len(payload)) + payload


def decode_response(frame: bytes, schema: Any) -> Any:
    """Decode a non-flexible response (header v0) as `schema`.

    Raises:
        UpstreamError: the frame does not decode.
    """
    try:
        _, offset = entity_reader(ResponseHeaderV0)(frame, 0)
        message, _ = entity_reader(schema)(frame, offset)
    except (BufferUnderflow, ValueError, TypeError, UnicodeDecodeError) as error:
        raise UpstreamError(f"broker sent a malformed {schema.__name__}: {error}") from error
    return message


class UpstreamLogin:
    """The exchange's messages, in order; `login_upstream` does the I/O."""

    def __init__(self, login: UpstreamSasl) -> None:
        self._login = login
        self._scram = (
            None
            if login.mechanism == PLAIN
            else ScramClientExchange(login.mechanism, login.username, login.password)
        )

    def handshake(self) -> SaslHandshakeRequest:
        """The SaslHandshake request."""
        return SaslHandshakeRequest(mechanism=self._login.mechanism)

    def check_handshake(self, response: SaslHandshakeResponse) -> None:
        """Raises UpstreamError: the broker refused the mechanism."""
        if response.error_code != 0:
            raise UpstreamError(
                f"broker refused upstream SASL mechanism {self._login.mechanism} "
                f"(error {int(response.error_code)}; it offers {', '.join(response.mechanisms)})"
            )

    def first_message(self) -> bytes:
        """The first SaslAuthenticate bytes."""
        if self._scram is None:
            return build_plain(self._login.username, self._login.password)
        return self._scram.first()

    def next_message(self, response: SaslAuthenticateResponse) -> bytes | None:
        """Check an answer; return the next message, or None when logged in.

        Raises:
            UpstreamError: the broker refused the login, or is not the server it claims.
        """
        if response.error_code != 0:
            raise UpstreamError(
                f"broker refused the gateway's {self._login.mechanism} login as "
                f"{self._login.username!r}: {response.error_message or int(response.error_code)}"
            )
        if self._scram is None:
            return None
        try:
            if response.auth_bytes.startswith(b"v=") or response.auth_bytes.startswith(b"e="):
                self._scram.verify(response.auth_bytes)
                return None
            return self._scram.final(response.auth_bytes)
        except SaslMessageError as error:
            raise UpstreamError(f"upstream SCRAM login failed: {error}") from error


async def login_upstream(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, login: UpstreamSasl
) -> None:
    """Log in to the broker on a fresh connection.

    Raises:
        UpstreamError: the broker refused, answered garbage, or closed the connection.
    """
    exchange = UpstreamLogin(login)
    try:
        response = await _call(reader, writer, 1, exchange.handshake(), SaslHandshakeResponse)
        exchange.check_handshake(response)
        message: bytes | None = exchange.first_message()
        correlation_id = 2
        while message is not None:
            request = SaslAuthenticateRequest(auth_bytes=message)
            answer = await _call(reader, writer, correlation_id, request, SaslAuthenticateResponse)
            message = exchange.next_message(answer)
            correlation_id += 1
    except (asyncio.IncompleteReadError, ConnectionError) as error:
        raise UpstreamError(f"broker closed the connection during SASL login: {error}") from error
    except FrameError as error:
        raise UpstreamError(f"broker answered the SASL login with garbage: {error}") from error


async def _call(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    correlation_id: int,
    request: Any,
    response_schema: Any,
) -> Any:
    writer.write(encode_request(correlation_id, request))
    await writer.drain()
    prefix = await reader.readexactly(wire.FRAME_SIZE_BYTES)
    # SASL answers are small; a huge size means this is not a Kafka broker.
    frame = await reader.readexactly(wire.frame_size(prefix, 1024 * 1024))
    return decode_response(frame, response_schema)


__all__ = ["UpstreamLogin", "login_upstream"]
