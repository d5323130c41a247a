"""Fixtures for identity tests: gateway-user credentials and gateways in each identity mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chargeback.gateway import PrincipalMode
from chargeback.gateway.identity import (
    SCRAM_MECHANISMS,
    CredentialSnapshot,
    IdentitySettings,
    SaslMode,
    make_credential,
)
from tests.gateway.harness import GatewayThread, MemorySink
from tests.gateway.identity.certificates import ThrowawayCa

# Gateway users of the managed-SASL gateway, and their passwords.
USERS = {"alice": "alice-secret", "svc-billing": "billing-pw", "gw-upstream": "gw-pw"}


@pytest.fixture(scope="session")
def credentials() -> CredentialSnapshot:
    """SCRAM-SHA-256 and -512 credentials for every user in USERS."""
    return CredentialSnapshot(
        make_credential(name, mechanism, password, iterations=4096)
        for name, password in USERS.items()
        for mechanism in SCRAM_MECHANISMS
    )


class GatewayFactory:
    """Starts gateways (stopped again at teardown); each gets its own memory sink."""

    def __init__(self) -> None:
        self._running: list[GatewayThread] = []

    def start(self, upstream: str, sink: MemorySink, **settings: object) -> GatewayThread:
        gateway = GatewayThread(upstream, sink, **settings).start()
        self._running.append(gateway)
        return gateway

    def managed(
        self, upstream: str, sink: MemorySink, credentials: CredentialSnapshot, **identity: object
    ) -> GatewayThread:
        """A gateway that authenticates clients itself (managed SASL)."""
        settings = IdentitySettings(
            sasl_mode=SaslMode.MANAGED,
            credentials=credentials,
            **identity,  # type: ignore[arg-type]
        )
        return self.start(upstream, sink, principal_mode=PrincipalMode.SASL, identity=settings)

    def passthrough(self, upstream: str, sink: MemorySink, **identity: object) -> GatewayThread:
        """A gateway that lets the upstream authenticate and reads who it was."""
        settings = IdentitySettings(sasl_mode=SaslMode.PASSTHROUGH, **identity)  # type: ignore[arg-type]
        return self.start(upstream, sink, principal_mode=PrincipalMode.SASL, identity=settings)

    def stop_all(self) -> None:
        for gateway in reversed(self._running):
            gateway.stop()


@pytest.fixture
def gateways() -> Iterator[GatewayFactory]:
    """Start gateways in any identity mode; all are stopped after the test."""
    factory = GatewayFactory()
    yield factory
    factory.stop_all()


@pytest.fixture
def ca(tmp_path: Path) -> ThrowawayCa:
    """A throw-away CA writing its files under the test's temporary directory."""
    return ThrowawayCa(tmp_path)
