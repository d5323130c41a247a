"""Pass-through SASL (`--principal sasl --sasl-mode passthrough`): the broker authenticates,
this handler reads who it was and sets the connection's principal once the broker accepts.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.errors import FrameError
from chargeback.gateway.frames import RequestFrame, ResponseFrame
from chargeback.gateway.identity import SaslInspection, SaslOutcome, SaslState

log = logging.getLogger(__name__)

_ONE_MS = timedelta(milliseconds=1)


class SaslInspector:
    """Follows SaslHandshake and SaslAuthenticate through `SaslInspection` (the state machine)."""

    def __init__(self, connection: ConnectionContext) -> None:
        self._connection = connection
        self._inspection = SaslInspection(connection.shared.settings.identity.oauth_claim)

    def on_sasl_handshake_request(self, frame: RequestFrame) -> None:
        """Note the mechanism; refuse the raw-token framing of SaslHandshake v0."""
        if frame.header.api_version == 0:
            # After a v0 handshake the client sends SASL tokens without Kafka headers, which
            # the connection loop cannot correlate (only Kafka 0.10.0-era clients do this).
            raise FrameError(f"{self._connection}: SaslHandshake v0 (raw SASL tokens) unsupported")
        self._inspection.handshake_requested(frame.message().mechanism, frame.header.api_version)

    def on_sasl_handshake_response(self, frame: ResponseFrame) -> None:
        """Note whether the broker accepted the mechanism."""
        self._note(self._inspection.handshake_answered(int(frame.message().error_code)))

    def on_sasl_authenticate_request(self, frame: RequestFrame) -> None:
        """Read the client's SASL message (user name, token)."""
        self._inspection.client_message(frame.message().auth_bytes)

    def on_sasl_authenticate_response(self, frame: ResponseFrame) -> None:
        """Attribute the user once the broker's answer says the authentication succeeded."""
        message = frame.message()
        lifetime = getattr(message, "session_lifetime", None)  # SaslAuthenticate v1+
        lifetime_ms = int(lifetime / _ONE_MS) if lifetime is not None else 0
        outcome = self._inspection.server_message(
            int(message.error_code), message.auth_bytes, lifetime_ms
        )
        self._note(outcome)

    def _note(self, outcome: SaslOutcome) -> None:
        inspection = self._inspection
        if outcome.principal is not None:
            previous = self._connection.principal
            self._connection.principal = outcome.principal
            log.info(
                "event=sasl_authenticated %s mechanism=%s principal=%s previous=%s "
                "session_lifetime_ms=%d authentications=%d",
                self._connection,
                inspection.mechanism,
                outcome.principal,
                previous,
                inspection.session_lifetime_ms,
                inspection.authentications,
            )
        if outcome.problem is not None and outcome.state in (
            SaslState.FAILED,
            SaslState.AUTHENTICATED,
        ):
            log.warning(
                "event=sasl_not_attributed %s mechanism=%s principal=%s reason=%r",
                self._connection,
                inspection.mechanism,
                self._connection.principal,
                outcome.problem,
            )
