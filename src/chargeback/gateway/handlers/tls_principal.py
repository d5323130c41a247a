"""TLS principals (`--principal tls`): the client certificate's subject, mapped by the rules,
is the connection's service account. A subject no rule maps is refused, as Kafka refuses it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import cast

from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.errors import FrameError
from chargeback.gateway.identity import (
    PrincipalMappingError,
    map_principal,
    subject_from_peer_certificate,
)
from chargeback.gateway.wire import RequestHeader
from chargeback.usage import Principal

log = logging.getLogger(__name__)

_Subject = Sequence[Sequence[tuple[str, str]]]


class TlsPrincipal:
    """Sets the principal from the client certificate when the connection opens."""

    def __init__(self, connection: ConnectionContext) -> None:
        self._connection = connection
        self._refusal = ""

    def on_connection_open(self) -> None:
        """Map the certificate subject; without a certificate the connection stays ANONYMOUS."""
        certificate = self._connection.peer_certificate or {}
        subject = certificate.get("subject")
        if not subject:
            log.info("event=tls_no_client_certificate %s principal=ANONYMOUS", self._connection)
            return
        text = subject_from_peer_certificate(cast(_Subject, subject))
        rules = self._connection.shared.settings.identity.principal_rules
        try:
            self._connection.principal = Principal(map_principal(text, rules))
        except PrincipalMappingError as error:
            self._refusal = str(error)
            self._connection.admit = self._refuse
            log.warning("event=tls_principal_refused %s reason=%r", self._connection, str(error))
            return
        log.info(
            "event=tls_principal %s subject=%r principal=%s",
            self._connection,
            text,
            self._connection.principal,
        )

    def _refuse(self, header: RequestHeader) -> None:
        raise FrameError(f"{self._connection}: {self._refusal}")
