"""The root of kafka-chargeback's exceptions. Imports nothing of ours.

`cannot_listen_message` words a failed bind the same way for the console and the gateway.

ChargebackError                 every error we raise on purpose; its message is for users
 ├── ConfigError                 a bad setting (names the setting and where it came from)
 └── <package>.errors.*          each package derives its own from ChargebackError
"""

import errno
import os


class ChargebackError(Exception):
    """An error whose message is meant for the user: it names the bad value and its source."""


class ConfigError(ChargebackError):
    """A setting is missing or invalid."""


def cannot_listen_message(host: str, port: int, option: str, error: OSError) -> str:
    """Why `host`:`port` cannot be listened on, in words (no "[Errno 98]").

    >>> in_use = OSError(errno.EADDRINUSE, "Address already in use")
    >>> cannot_listen_message("::1", 8080, "--port", in_use)  # doctest: +NORMALIZE_WHITESPACE
    '--port: cannot listen on [::1]:8080: the port is in use by another program; choose another
     with --port'
    >>> not_here = OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
    >>> cannot_listen_message("10.9.9.9", 8080, "--port", not_here)
    '--port: cannot listen on 10.9.9.9:8080: cannot assign requested address'
    """
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        why = f"the port is in use by another program; choose another with {option}"
    elif error.errno is not None:
        # os.strerror, not error.strerror: asyncio's bind errors wrap the reason in a sentence.
        why = os.strerror(error.errno).lower()
    else:
        why = str(error).lower()
    return f"{option}: cannot listen on {address}: {why}"
