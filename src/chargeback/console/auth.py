"""Who may use the console: password hashes, API tokens, signed session cookies, CSRF, roles.

Three ways to prove who you are, checked in this order:

    Authorization: Bearer <token>    an API token; only its sha256 is stored
    Authorization: Basic <user:pw>   a console user's name and password (scripts)
    session cookie                   set by the login page; signed, HttpOnly, SameSite=Lax

Only the session cookie is sent by a browser on its own, so only requests authenticated by it
need a CSRF token on unsafe methods. The console never answers with a Basic challenge, so
browsers never cache Basic credentials that a forged request could reuse.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from chargeback.console._throttle import SignInThrottle
from chargeback.console.errors import ConsoleError, SignInLockedError
from chargeback.store import Store, UserRow

SESSION_COOKIE = "chargeback_session"
LOGIN_CSRF_COOKIE = "chargeback_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
API_TOKEN_PREFIX = "cbt_"  # noqa: S105 - a marker that makes leaked tokens easy to spot
SESSION_SECRET_SETTING = "console.session_secret"  # noqa: S105 - a key name, not a secret
SESSION_GENERATION_SETTING = "console.session_generation."  # + user name
MIN_PASSWORD_CHARS = 8

_HASHER = PasswordHasher()
# Verified when a user name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    """What a console user may do. Viewers read; admins also change prices."""

    ADMIN = "admin"
    VIEWER = "viewer"


def parse_role(text: str) -> Role:
    """Return the role named `text`.

    Raises:
        ConsoleError: `text` is not a role.

    >>> parse_role("admin")
    <Role.ADMIN: 'admin'>
    """
    try:
        return Role(text)
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        raise ConsoleError(f"unknown role {text!r}: choose one of {choices}") from None


class AuthMethod(StrEnum):
    """How a request proved who sent it."""

    SESSION = "session"
    TOKEN = "token"  # noqa: S105 - a method name
    BASIC = "basic"


@dataclass(frozen=True, slots=True)
class Identity:
    """The authenticated user of one request. `csrf_token` is set for sessions only."""

    name: str
    role: Role
    method: AuthMethod
    csrf_token: str | None = None

    @property
    def is_admin(self) -> bool:
        """Whether this user may change prices."""
        return self.role is Role.ADMIN


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password` (salted; its parameters are inside it).

    Raises:
        ConsoleError: the password is shorter than MIN_PASSWORD_CHARS characters.
    """
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConsoleError(f"password too short: use at least {MIN_PASSWORD_CHARS} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash`; a malformed hash never matches."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> str:
    """Return a fresh random API token (shown once; only its hash is stored)."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    """Return the stored form of an API token: its sha256, hex.

    A token has 256 random bits, so a fast hash is enough (no salt or stretching needed).

    >>> hash_api_token("cbt_x")[:12]
    '589e4f861b15'
    """
    return hashlib.sha256(token.encode()).hexdigest()


def password_fingerprint(password_hash: str) -> str:
    """A short digest of a stored password hash, kept in sessions.

    A session ends when the password changes, because the fingerprint no longer matches.
    """
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def new_csrf_token() -> str:
    """Return a fresh random CSRF token."""
    return secrets.token_urlsafe(24)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Compare two secrets in constant time; a missing one never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def session_secret(store: Store) -> str:
    """Return the key that signs session cookies, creating and keeping it on first use."""
    secret = store.get_setting(SESSION_SECRET_SETTING)
    if secret is None:
        secret = secrets.token_urlsafe(48)
        store.set_setting(SESSION_SECRET_SETTING, secret)
    return secret


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a session cookie says: who, which password, which generation of the user's
    sessions (sign-out starts a new one), and its CSRF token."""

    user_name: str
    password_fingerprint: str
    generation: int
    csrf_token: str


class SessionCodec:
    """Signs and reads session cookies (itsdangerous, with a timestamp for expiry)."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="chargeback-session")
        self._max_age_seconds = max_age_seconds

    def issue(self, user: UserRow, generation: int) -> tuple[str, SessionClaims]:
        """Return a signed cookie value for `user` and the claims inside it."""
        fingerprint = password_fingerprint(user.password_hash)
        claims = SessionClaims(user.name, fingerprint, generation, new_csrf_token())
        payload = [claims.user_name, fingerprint, generation, claims.csrf_token]
        return self._serializer.dumps(payload), claims

    def read(self, cookie_value: str) -> SessionClaims | None:
        """Return the claims of a valid, unexpired cookie, or None."""
        try:
            payload = self._serializer.loads(cookie_value, max_age=self._max_age_seconds)
        except BadSignature:
            return None
        if not (isinstance(payload, list) and len(payload) == 4):
            return None
        user_name, fingerprint, generation, csrf_token = payload
        if not all(isinstance(part, str) for part in (user_name, fingerprint, csrf_token)):
            return None
        if not isinstance(generation, int):
            return None
        return SessionClaims(user_name, fingerprint, generation, csrf_token)


class Authenticator:
    """Checks credentials against the store's users and tokens."""

    def __init__(
        self, store: Store, codec: SessionCodec, throttle: SignInThrottle | None = None
    ) -> None:
        self._store = store
        self.codec = codec
        self.throttle = throttle or SignInThrottle()

    def check_password(self, user_name: str, password: str) -> UserRow | None:
        """Return the user if `password` is theirs; upgrades an outdated hash on success.

        Raises:
            SignInLockedError: too many wrong passwords for this user lately.
        """
        wait_seconds = self.throttle.retry_after_seconds(user_name)
        if wait_seconds > 0:
            raise SignInLockedError(user_name, wait_seconds)
        user = self._store.get_user(user_name)
        if user is None:
            verify_password(_DUMMY_HASH, password)
            return None
        if not verify_password(user.password_hash, password):
            self.throttle.note_failure(user.name)
            return None
        self.throttle.note_success(user.name)
        if _HASHER.check_needs_rehash(user.password_hash):
            self._store.set_user_password(user.name, _HASHER.hash(password))
            user = self._store.get_user(user.name) or user
        return user

    def by_basic(self, user_name: str, password: str) -> Identity | None:
        """Identify a request by HTTP Basic credentials.

        Raises:
            SignInLockedError: too many wrong passwords for this user lately.
        """
        user = self.check_password(user_name, password)
        return _identity(user, AuthMethod.BASIC) if user else None

    def by_token(self, token: str) -> Identity | None:
        """Identify a request by an API token; the token acts as its user."""
        row = self._store.find_api_token(hash_api_token(token))
        if row is None:
            return None
        user = self._store.get_user(row.user_name)
        return _identity(user, AuthMethod.TOKEN) if user else None

    def by_session(self, cookie_value: str) -> Identity | None:
        """Identify a request by its session cookie; removed users and old passwords fail."""
        claims = self.codec.read(cookie_value)
        if claims is None:
            return None
        user = self._store.get_user(claims.user_name)
        if user is None:
            return None
        if not tokens_match(password_fingerprint(user.password_hash), claims.password_fingerprint):
            return None
        if claims.generation != self.session_generation(user.name):
            return None  # the user signed out since this session began
        return _identity(user, AuthMethod.SESSION, claims.csrf_token)

    def session_generation(self, user_name: str) -> int:
        """The current generation of `user_name`'s sessions (0 until their first sign-out)."""
        stored = self._store.get_setting(SESSION_GENERATION_SETTING + user_name)
        return int(stored) if stored and stored.isdigit() else 0

    def end_sessions(self, user_name: str) -> None:
        """End every session of `user_name`, in every browser (signing out does this)."""
        next_generation = self.session_generation(user_name) + 1
        self._store.set_setting(SESSION_GENERATION_SETTING + user_name, str(next_generation))


def _identity(user: UserRow, method: AuthMethod, csrf_token: str | None = None) -> Identity | None:
    """The identity of `user`, or None if their stored role is not one we know."""
    try:
        role = Role(user.role)
    except ValueError:
        return None
    return Identity(user.name, role, method, csrf_token)
