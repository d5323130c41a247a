"""The demo's admin user and example prices on a store."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from chargeback.console import ConsoleError, verify_password
from chargeback.demo._admin import ensure_admin
from chargeback.demo._prices import DEMO_PRICES, seed_demo_prices
from chargeback.pricing import PriceSettings
from chargeback.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    yield opened
    opened.close()


def test_a_fresh_store_gets_an_admin_with_a_generated_password(store: Store) -> None:
    # Given a store without users
    # When the demo makes sure there is an admin
    login = ensure_admin(store, None)

    # Then `admin` exists with role admin and the printed password works
    user = store.get_user("admin")
    assert user is not None
    assert user.role == "admin"
    assert login.is_generated
    assert login.password is not None
    assert verify_password(user.password_hash, login.password)


def test_an_existing_admin_keeps_its_password_unless_one_is_given(store: Store) -> None:
    # Given an admin created with a chosen password
    ensure_admin(store, "first-password")

    # When the demo starts again, once without a password and once with a new one
    kept = ensure_admin(store, None)
    hash_after_keep = store.get_user("admin")
    ensure_admin(store, "second-password")

    # Then the first keeps the old password (and shows none), the second replaces it
    assert kept.password is None
    assert hash_after_keep is not None
    assert verify_password(hash_after_keep.password_hash, "first-password")
    changed = store.get_user("admin")
    assert changed is not None
    assert verify_password(changed.password_hash, "second-password")


def test_a_too_short_admin_password_is_refused(store: Store) -> None:
    # Given a store without users
    # When the demo is given a 3-character password
    with pytest.raises(ConsoleError) as raised:
        ensure_admin(store, "abc")

    # Then it says why, and no admin was made
    assert "too short" in str(raised.value)
    assert store.get_user("admin") is None


def test_example_prices_are_set_once_and_never_over_prices_someone_set(store: Store) -> None:
    # Given a fresh store: the demo sets example prices; then someone changes them
    assert seed_demo_prices(store)
    assert store.get_prices() == DEMO_PRICES
    mine = PriceSettings(ingress_per_gb=Decimal("1.5"), egress_per_gb=Decimal("2"))
    store.set_prices(mine)

    # When the demo starts again
    seeded_again = seed_demo_prices(store)

    # Then the changed prices stay
    assert not seeded_again
    assert store.get_prices() == mine
