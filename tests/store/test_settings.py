"""Prices and settings persist; opening a store creates, migrates and checks it."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from chargeback.pricing import GbUnit, PriceSettings
from chargeback.store import Store, StoreError, open_store


def test_prices_default_to_zero_usd_per_decimal_gb(store: Store) -> None:
    assert store.get_prices() == PriceSettings(Decimal("0"), Decimal("0"), "USD", GbUnit.DECIMAL)


def test_prices_are_stored_exactly_and_survive_reopening(store_url: str) -> None:
    # Given
    prices = PriceSettings(Decimal("0.12345678"), Decimal("1E+3"), "EUR", GbUnit.BINARY)
    first = open_store(store_url)
    first.set_prices(prices)
    first.close()

    # When
    reopened = open_store(store_url)
    stored = reopened.get_prices()
    reopened.close()

    # Then
    assert stored == prices
    assert str(stored.ingress_per_gb) == "0.12345678"


def test_prices_are_stored_in_plain_form(store: Store) -> None:
    # When
    store.set_prices(PriceSettings(Decimal("-0"), Decimal("5E+5"), "USD", GbUnit.DECIMAL))

    # Then
    stored = store.get_prices()
    assert (str(stored.ingress_per_gb), str(stored.egress_per_gb)) == ("0", "500000")


def test_setting_prices_again_replaces_them(store: Store) -> None:
    # Given
    store.set_prices(PriceSettings(Decimal("1"), Decimal("2"), "GBP", GbUnit.DECIMAL))

    # When
    store.set_prices(PriceSettings(Decimal("3"), Decimal("4"), "USD", GbUnit.BINARY))

    # Then
    assert store.get_prices() == PriceSettings(Decimal("3"), Decimal("4"), "USD", GbUnit.BINARY)


def test_settings_are_set_replaced_and_read(store: Store) -> None:
    # Given
    store.set_setting("console.session_secret", "s1")

    # When
    store.set_setting("console.session_secret", "s2")

    # Then
    assert store.get_setting("console.session_secret") == "s2"
    assert store.get_setting("missing") is None


def test_opening_a_store_twice_migrates_once_and_keeps_data(store_url: str) -> None:
    # Given
    first = open_store(store_url)
    first.set_setting("k", "v")
    first.close()

    # When
    second = open_store(store_url)

    # Then
    assert second.get_setting("k") == "v"
    second.close()


def test_a_sqlite_store_creates_its_folder_and_runs_in_wal_mode(tmp_path: Path) -> None:
    # Given
    path = tmp_path / "deep" / "er" / "chargeback.db"

    # When
    open_store(f"sqlite:///{path}").close()

    # Then
    with sqlite3.connect(path) as connection:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://root@127.0.0.1/db", "only sqlite and postgresql"),
        ("postgresql://postgres:secret@127.0.0.1:1/none", "cannot open the store"),
    ],
)
def test_a_bad_store_url_gets_a_clear_error_without_the_password(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as refused:
        open_store(url)
    assert "secret" not in str(refused.value)


def test_an_in_memory_store_keeps_its_data_between_calls() -> None:
    # Given
    store = open_store("sqlite://")

    # When
    store.set_setting("k", "v")

    # Then
    assert store.get_setting("k") == "v"
    store.close()
