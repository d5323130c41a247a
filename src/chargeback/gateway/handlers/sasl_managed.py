"""Gateway-managed SASL (`--principal sasl --sasl-mode managed`): the gateway answers
SaslHandshake and SaslAuthenticate itself and lets no other request (but ApiVersions) through
before the client has authenticated. The brokers never see the clients' SASL exchange.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import timedelta
from typing import Any

from kio.index import load_response_schema
from kio.schema.errors import ErrorCode
from kio.serial.readers import read_int16
from kio.static.primitive import i16, i64Timedelta

from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.errors import FrameError
from chargeback.gateway.frames import RequestFrame, ResponseFrame
from chargeback.gateway.identity import (
    ILLEGAL_SASL_STATE,
    AuthenticateAnswer,
    ManagedSasl,
    ManagedState,
)
from chargeback.gateway.wire import RequestHeader

log = logging.getLogger(__name__)

_SASL_HANDSHAKE_KEY = 17
_SASL_AUTHENTICATE_KEY = 36
# What the gateway answers itself: SaslHandshake v1 (v0's raw tokens are not served) and
# SaslAuthenticate v0..v2.
_OFFERED_VERSIONS = {_SASL_HANDSHAKE_KEY: (0, 1), _SASL_AUTHENTICATE_KEY: (0, 2)}


def _now_ms() -> float:
    return time.monotonic() * 1000


class ManagedSaslAuthenticator:
    """Authenticates the client with `ManagedSasl` and gates every other request on it."""

    def __init__(self, connection: ConnectionContext) -> None:
        identity = connection.shared.settings.identity
        self._connection = connection
        self._sasl = ManagedSasl(
            identity.credentials, identity.managed_mechanisms, identity.session_lifetime_ms
        )

    def on_connection_open(self) -> None:
        """Install the gate that refuses requests before authentication."""
        self._connection.admit = self._admit

    def _admit(self, header: RequestHeader) -> None:
        if not self._sasl.may_forward(header.api_key, _now_ms()):
            raise FrameError(f"{self._connection}: {self._sasl.problem}")

    def on_sasl_handshake_request(self, frame: RequestFrame) -> None:
        """Answer the handshake (v0's raw-token framing is refused with ILLEGAL_SASL_STATE)."""
        version = frame.header.api_version
        schema: Any = load_response_schema(_SASL_HANDSHAKE_KEY, version)
        if version == 0:
            frame.reply(schema(error_code=ErrorCode(ILLEGAL_SASL_STATE), mechanisms=()))
            return
        answer = self._sasl.handshake(frame.message().mechanism)
        frame.reply(schema(error_code=ErrorCode(answer.error_code), mechanisms=answer.mechanisms))
        if answer.error_code != 0:
            log.warning(
                "event=sasl_handshake_refused %s reason=%r", self._connection, self._sasl.problem
            )

    def on_sasl_authenticate_request(self, frame: RequestFrame) -> None:
        """Check the client's SASL message and answer it.

        The check runs in a worker thread: a PLAIN login derives a key from the password
        (PBKDF2, ~10 ms), which on the event loop would stall every other connection.
        """
        auth_bytes = frame.message().auth_bytes
        version = frame.header.api_version
        now_ms = _now_ms()
        frame.reply_after(
            lambda: self._sasl.authenticate(auth_bytes, now_ms),
            lambda answer: self._answer(answer, version),
        )

    def _answer(self, answer: AuthenticateAnswer, version: int) -> Any:
        """Note the outcome (on the event loop) and make the SaslAuthenticate response."""
        schema: Any = load_response_schema(_SASL_AUTHENTICATE_KEY, version)
        fields: dict[str, Any] = {
            "error_code": ErrorCode(answer.error_code),
            "error_message": answer.error_message,
            "auth_bytes": answer.auth_bytes,
        }
        if version >= 1:
            lifetime = timedelta(milliseconds=answer.session_lifetime_ms)
            fields["session_lifetime"] = i64Timedelta.parse(lifetime)
        self._note(answer.error_code)
        return schema(**fields)

    def _note(self, error_code: int) -> None:
        if error_code != 0:
            log.warning(
                "event=sasl_authentication_failed %s mechanism=%s reason=%r",
                self._connection,
                self._sasl.mechanism,
                self._sasl.problem,
            )
        elif self._sasl.state is ManagedState.AUTHENTICATED and self._sasl.principal is not None:
            self._connection.principal = self._sasl.principal
            log.info(
                "event=sasl_authenticated %s mechanism=%s principal=%s authentications=%d",
                self._connection,
                self._sasl.mechanism,
                self._sasl.principal,
                self._sasl.authentications,
            )

    def on_api_versions_response(self, frame: ResponseFrame) -> None:
        """Offer SaslHandshake and SaslAuthenticate even if the broker (without SASL) does not."""
        error_code, _ = read_int16(frame.raw, frame.body_offset)
        if error_code != 0:
            return  # an error answer (maybe in v0 form): the client retries, we add then
        message = frame.message()
        entries = [e for e in message.api_keys if e.api_key not in _OFFERED_VERSIONS]
        entry_type = type(message.api_keys[0]) if message.api_keys else None
        if entry_type is None:
            return
        for api_key, (min_version, max_version) in _OFFERED_VERSIONS.items():
            entries.append(
                entry_type(
                    api_key=i16(api_key), min_version=i16(min_version), max_version=i16(max_version)
                )
            )
        frame.replace(dataclasses.replace(message, api_keys=tuple(entries)))
