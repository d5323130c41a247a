"""Console users, API tokens and gateway SASL users."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chargeback.store import GatewayUserRow, Store, StoreError


def scram(name: str, mechanism: str = "SCRAM-SHA-256", iterations: int = 4096) -> GatewayUserRow:
    return GatewayUserRow(name, mechanism, b"salt\x00", iterations, b"stored\xff", b"server\x01")


def test_a_console_user_is_stored_with_its_hash_role_and_creation_time(store: Store) -> None:
    # Given
    before = datetime.now(UTC)

    # When
    store.add_user("ada", "$argon2id$hash", "admin")

    # Then
    user = store.get_user("ada")
    assert user is not None
    assert (user.name, user.password_hash, user.role) == ("ada", "$argon2id$hash", "admin")
    assert user.created_at_utc.tzinfo is not None
    assert user.created_at_utc >= before.replace(microsecond=0)


def test_adding_a_user_twice_is_refused(store: Store) -> None:
    # Given
    store.add_user("ada", "h1", "admin")

    # When / Then
    with pytest.raises(StoreError, match="console user 'ada' already exists"):
        store.add_user("ada", "h2", "viewer")


def test_users_are_listed_by_name_and_passwords_can_change(store: Store) -> None:
    # Given
    store.add_user("zoe", "h1", "viewer")
    store.add_user("ada", "h2", "admin")

    # When
    store.set_user_password("zoe", "h3")

    # Then
    assert [(u.name, u.password_hash) for u in store.list_users()] == [("ada", "h2"), ("zoe", "h3")]


def test_changing_the_password_of_a_missing_user_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="'ghost' does not exist"):
        store.set_user_password("ghost", "h")


def test_removing_a_user_removes_their_api_tokens(store: Store) -> None:
    # Given
    store.add_user("ada", "h", "admin")
    store.add_user("bob", "h", "viewer")
    store.add_api_token("ada-ci", "sha256:aaa", "ada")
    store.add_api_token("bob-ci", "sha256:bbb", "bob")

    # When
    removed = store.remove_user("ada")

    # Then
    assert removed
    assert store.get_user("ada") is None
    assert store.find_api_token("sha256:aaa") is None
    assert [token.name for token in store.list_api_tokens()] == ["bob-ci"]
    assert store.remove_user("ada") is False


def test_an_api_token_is_found_by_its_hash(store: Store) -> None:
    # Given
    store.add_user("ada", "h", "admin")
    store.add_api_token("ada-ci", "sha256:aaa", "ada")

    # When
    token = store.find_api_token("sha256:aaa")

    # Then
    assert token is not None
    assert (token.name, token.user_name) == ("ada-ci", "ada")
    assert store.find_api_token("sha256:zzz") is None


@pytest.mark.parametrize(
    ("name", "token_hash", "user", "message"),
    [
        ("ci", "sha256:new", "nobody", "console user 'nobody' does not exist"),
        ("ada-ci", "sha256:new", "ada", "already exists"),
        ("other", "sha256:aaa", "ada", "already exists"),
    ],
)
def test_a_clashing_or_orphan_api_token_is_refused(
    store: Store, name: str, token_hash: str, user: str, message: str
) -> None:
    # Given
    store.add_user("ada", "h", "admin")
    store.add_api_token("ada-ci", "sha256:aaa", "ada")

    # When / Then
    with pytest.raises(StoreError, match=message):
        store.add_api_token(name, token_hash, user)


def test_removing_an_api_token_tells_whether_it_existed(store: Store) -> None:
    # Given
    store.add_user("ada", "h", "admin")
    store.add_api_token("ada-ci", "sha256:aaa", "ada")

    # When
    removed = store.remove_api_token("ada-ci")

    # Then
    assert removed
    assert store.remove_api_token("ada-ci") is False
    assert store.list_api_tokens() == []


def test_gateway_user_material_is_stored_byte_for_byte_per_mechanism(store: Store) -> None:
    # Given
    sha256, sha512 = scram("app"), scram("app", "SCRAM-SHA-512", 8192)

    # When
    store.put_gateway_user(sha256)
    store.put_gateway_user(sha512)

    # Then
    assert store.get_gateway_user("app", "SCRAM-SHA-256") == sha256
    assert store.get_gateway_user("app", "SCRAM-SHA-512") == sha512
    assert store.list_gateway_users() == [sha256, sha512]


def test_putting_a_gateway_user_again_replaces_its_material(store: Store) -> None:
    # Given
    store.put_gateway_user(scram("app", iterations=4096))

    # When
    store.put_gateway_user(scram("app", iterations=10_000))

    # Then
    assert [row.iterations for row in store.list_gateway_users()] == [10_000]


def test_removing_a_gateway_user_removes_every_mechanism(store: Store) -> None:
    # Given
    store.put_gateway_user(scram("app"))
    store.put_gateway_user(scram("app", "SCRAM-SHA-512"))
    store.put_gateway_user(scram("other"))

    # When
    removed = store.remove_gateway_user("app")

    # Then
    assert removed
    assert store.get_gateway_user("app") is None
    assert [row.name for row in store.list_gateway_users()] == ["other"]
    assert store.remove_gateway_user("app") is False


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (scram("app", "PLAIN"), "mechanism 'PLAIN' is not one of"),
        (scram("app", iterations=0), "iterations 0 is below 1"),
        (scram(" "), "name ' ' is empty"),
    ],
)
def test_bad_gateway_user_material_is_refused(
    store: Store, row: GatewayUserRow, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        store.put_gateway_user(row)
