"""Console: the web page and REST API (FastAPI) over the report engine, with authentication.
Imports reports, pricing, store, usage and errors; computes nothing itself.

`create_app(store, settings)` builds the app; `auth` hashes passwords and API tokens for the
`users` and `tokens` commands (only hashes are stored); `listen_socket` binds the console's
port before anything is announced.
"""

from chargeback.console._listener import listen_socket
from chargeback.console._settings import ConsoleSettings
from chargeback.console.app import create_app
from chargeback.console.auth import (
    MIN_PASSWORD_CHARS,
    Role,
    hash_api_token,
    hash_password,
    new_api_token,
    parse_role,
    verify_password,
)
from chargeback.console.errors import ConsoleError

__all__ = [
    "MIN_PASSWORD_CHARS",
    "ConsoleError",
    "ConsoleSettings",
    "Role",
    "create_app",
    "hash_api_token",
    "hash_password",
    "listen_socket",
    "new_api_token",
    "parse_role",
    "verify_password",
]
