"""The apps' SASL logins: fresh passwords, stored only as salted SCRAM material."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest

from chargeback.demo._logins import make_logins, managed_identity
from chargeback.gateway.identity import SaslMode
from chargeback.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    yield opened
    opened.close()


def _stored_key(password: str, salt: bytes, iterations: int, hash_name: str) -> bytes:
    """RFC 5802: StoredKey = H(HMAC(SaltedPassword, "Client Key"))."""
    salted = hashlib.pbkdf2_hmac(hash_name, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hash_name).digest()
    return hashlib.new(hash_name, client_key).digest()


def test_each_app_gets_scram_material_for_its_fresh_password(store: Store) -> None:
    # Given two apps with their mechanisms
    mechanisms = {"orders-service": "SCRAM-SHA-512", "audit-logger": "PLAIN"}

    # When their logins are made
    logins = make_logins(store, mechanisms)

    # Then each login's password matches the stored keys of both SCRAM mechanisms
    for name, login in logins.items():
        assert (login.username, login.mechanism) == (name, mechanisms[name])
        for mechanism, hash_name in (("SCRAM-SHA-256", "sha256"), ("SCRAM-SHA-512", "sha512")):
            row = store.get_gateway_user(name, mechanism)
            assert row is not None
            expected = _stored_key(login.password, row.salt, row.iterations, hash_name)
            assert row.stored_key == expected
    assert logins["orders-service"].password != logins["audit-logger"].password


def test_a_new_run_replaces_the_passwords_of_the_last(store: Store) -> None:
    # Given logins made by an earlier run
    first = make_logins(store, {"billing-consumers": "SCRAM-SHA-256"})["billing-consumers"]

    # When the next run makes them again
    second = make_logins(store, {"billing-consumers": "SCRAM-SHA-256"})["billing-consumers"]

    # Then only the new password matches what is stored
    row = store.get_gateway_user("billing-consumers", "SCRAM-SHA-256")
    assert row is not None
    assert row.stored_key == _stored_key(second.password, row.salt, row.iterations, "sha256")
    assert row.stored_key != _stored_key(first.password, row.salt, row.iterations, "sha256")


def test_the_gateway_checks_logins_against_every_gateway_user_of_the_store(store: Store) -> None:
    # Given the apps' logins and one user someone added before
    make_logins(store, {"me": "PLAIN"})
    make_logins(store, {"orders-service": "SCRAM-SHA-512"})

    # When the demo builds the gateway's identity settings
    identity = managed_identity(store)

    # Then the gateway authenticates itself, knowing both users for both SCRAM mechanisms
    assert identity.sasl_mode is SaslMode.MANAGED
    assert len(identity.credentials) == 4
    assert identity.credentials("me", "SCRAM-SHA-256") is not None
