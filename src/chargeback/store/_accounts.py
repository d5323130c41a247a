"""Console users, their API tokens, and the gateway's SASL users: plain rows, hashes only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chargeback.store import _tables as t
from chargeback.store._errors import StoreError
from chargeback.store._rows import ApiTokenRow, GatewayUserRow, UserRow

SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def add_user(connection: Connection, name: str, password_hash: str, role: str) -> None:
    """Add a console user.

    Raises:
        StoreError: the name is empty or taken.
    """
    _check_name(name, "console user")
    if get_user(connection, name) is not None:
        raise StoreError(f"console user {name!r} already exists")
    connection.execute(
        sa.insert(t.console_users).values(
            name=name, password_hash=password_hash, role=role, created_at_utc=datetime.now(UTC)
        )
    )


def get_user(connection: Connection, name: str) -> UserRow | None:
    """Return the console user `name`, if any."""
    row = connection.execute(
        sa.select(t.console_users).where(t.console_users.c.name == name)
    ).first()
    return None if row is None else UserRow(**row._mapping)


def list_users(connection: Connection) -> list[UserRow]:
    """Return every console user, by name."""
    rows = connection.execute(sa.select(t.console_users).order_by(t.console_users.c.name))
    return [UserRow(**row._mapping) for row in rows]


def set_user_password(connection: Connection, name: str, password_hash: str) -> None:
    """Replace a console user's password hash.

    Raises:
        StoreError: no such user.
    """
    result = connection.execute(
        sa.update(t.console_users)
        .where(t.console_users.c.name == name)
        .values(password_hash=password_hash)
    )
    if result.rowcount == 0:
        raise StoreError(f"console user {name!r} does not exist")


def remove_user(connection: Connection, name: str) -> bool:
    """Remove a console user and their API tokens; return False if there was no such user."""
    connection.execute(sa.delete(t.api_tokens).where(t.api_tokens.c.user_name == name))
    result = connection.execute(sa.delete(t.console_users).where(t.console_users.c.name == name))
    return result.rowcount > 0


def add_api_token(connection: Connection, name: str, token_hash: str, user_name: str) -> None:
    """Add a named API token (its hash) of an existing console user.

    Raises:
        StoreError: the name is empty or taken, the hash is in use, or the user does not exist.
    """
    _check_name(name, "API token")
    if get_user(connection, user_name) is None:
        raise StoreError(f"API token {name!r}: console user {user_name!r} does not exist")
    taken = connection.execute(
        sa.select(t.api_tokens.c.name).where(
            (t.api_tokens.c.name == name) | (t.api_tokens.c.token_hash == token_hash)
        )
    ).first()
    if taken is not None:
        raise StoreError(f"API token {name!r}: the name or the token already exists")
    connection.execute(
        sa.insert(t.api_tokens).values(
            name=name, token_hash=token_hash, user_name=user_name, created_at_utc=datetime.now(UTC)
        )
    )


def find_api_token(connection: Connection, token_hash: str) -> ApiTokenRow | None:
    """Return the API token with hash `token_hash`, if any."""
    row = connection.execute(
        sa.select(t.api_tokens).where(t.api_tokens.c.token_hash == token_hash)
    ).first()
    return None if row is None else ApiTokenRow(**row._mapping)


def list_api_tokens(connection: Connection) -> list[ApiTokenRow]:
    """Return every API token, by name."""
    rows = connection.execute(sa.select(t.api_tokens).order_by(t.api_tokens.c.name))
    return [ApiTokenRow(**row._mapping) for row in rows]


def remove_api_token(connection: Connection, name: str) -> bool:
    """Remove an API token; return False if there was none of that name."""
    result = connection.execute(sa.delete(t.api_tokens).where(t.api_tokens.c.name == name))
    return result.rowcount > 0


def put_gateway_user(connection: Connection, row: GatewayUserRow) -> None:
    """Add or replace the SCRAM material of one gateway user for one mechanism.

    Raises:
        StoreError: empty name, unknown mechanism, or iterations below 1.
    """
    _check_name(row.name, "gateway user")
    if row.mechanism not in SCRAM_MECHANISMS:
        raise StoreError(
            f"gateway user {row.name!r}: mechanism {row.mechanism!r} is not one of "
            f"{', '.join(SCRAM_MECHANISMS)}"
        )
    if row.iterations < 1:
        raise StoreError(f"gateway user {row.name!r}: iterations {row.iterations} is below 1")
    key = (t.gateway_users.c.name == row.name) & (t.gateway_users.c.mechanism == row.mechanism)
    values: dict[str, Any] = {
        "salt": row.salt,
        "iterations": row.iterations,
        "stored_key": row.stored_key,
        "server_key": row.server_key,
    }
    if connection.execute(sa.update(t.gateway_users).where(key).values(values)).rowcount == 0:
        connection.execute(
            sa.insert(t.gateway_users).values(name=row.name, mechanism=row.mechanism, **values)
        )


def get_gateway_user(connection: Connection, name: str) -> GatewayUserRow | None:
    """Return one row of gateway user `name` (SCRAM-SHA-512 before SCRAM-SHA-256), if any."""
    rows = connection.execute(
        sa.select(t.gateway_users)
        .where(t.gateway_users.c.name == name)
        .order_by(t.gateway_users.c.mechanism.desc())
    ).all()
    return None if not rows else _gateway_user(rows[0]._mapping)


def get_gateway_user_for(
    connection: Connection, name: str, mechanism: str
) -> GatewayUserRow | None:
    """Return gateway user `name`'s material for `mechanism`, if any."""
    row = connection.execute(
        sa.select(t.gateway_users).where(
            (t.gateway_users.c.name == name) & (t.gateway_users.c.mechanism == mechanism)
        )
    ).first()
    return None if row is None else _gateway_user(row._mapping)


def list_gateway_users(connection: Connection) -> list[GatewayUserRow]:
    """Return every gateway user row, by name then mechanism."""
    rows = connection.execute(
        sa.select(t.gateway_users).order_by(t.gateway_users.c.name, t.gateway_users.c.mechanism)
    )
    return [_gateway_user(row._mapping) for row in rows]


def remove_gateway_user(connection: Connection, name: str) -> bool:
    """Remove gateway user `name` (every mechanism); return False if there was none."""
    result = connection.execute(sa.delete(t.gateway_users).where(t.gateway_users.c.name == name))
    return result.rowcount > 0


def _gateway_user(row: Any) -> GatewayUserRow:
    return GatewayUserRow(
        name=row["name"],
        mechanism=row["mechanism"],
        salt=bytes(row["salt"]),
        iterations=row["iterations"],
        stored_key=bytes(row["stored_key"]),
        server_key=bytes(row["server_key"]),
    )


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise StoreError(f"{what} name {name!r} is empty")
