"""The console's `admin` user of the demo: created on first run, its password reset on request."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from chargeback.console import Role, hash_password
from chargeback.store import Store

ADMIN_NAME = "admin"
_GENERATED_PASSWORD_BYTES = 12  # 16 URL-safe characters


@dataclass(frozen=True, slots=True)
class AdminLogin:
    """How to sign in: the password, or None when an existing password was kept (not known)."""

    name: str
    password: str | None
    is_generated: bool


def ensure_admin(store: Store, password: str | None) -> AdminLogin:
    """Make sure the user `admin` exists with role admin; set its password if one is given.

    A new admin without a given password gets a generated one. An admin that exists keeps its
    password unless one is given, so a data directory's password survives restarts.

    Raises:
        ConsoleError: the given password is too short.
    """
    existing = store.get_user(ADMIN_NAME)
    if password is None and existing is not None:
        return AdminLogin(ADMIN_NAME, None, is_generated=False)
    is_generated = password is None
    chosen = password if password is not None else secrets.token_urlsafe(_GENERATED_PASSWORD_BYTES)
    password_hash = hash_password(chosen)
    if existing is None:
        store.add_user(ADMIN_NAME, password_hash, Role.ADMIN.value)
    else:
        store.set_user_password(ADMIN_NAME, password_hash)
    return AdminLogin(ADMIN_NAME, chosen, is_generated)
