"""The console's listening socket, bound before anything is announced, so that a port in use
is one clear line (naming the option to change) rather than a server log after a banner."""

from __future__ import annotations

import errno
import socket

from chargeback.console.errors import ConsoleError

_BACKLOG = 128


def listen_socket(host: str, port: int, option: str) -> socket.socket:
    """A TCP socket listening on `host`:`port` (an IPv6 address when `host` holds a colon).

    Raises:
        ConsoleError: it cannot listen there; the message names `option`, the address and why.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(_BACKLOG)
    except OSError as error:
        listener.close()
        raise ConsoleError(cannot_listen_message(host, port, option, error)) from None
    return listener


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
    else:
        why = (error.strerror or str(error)).lower()
    return f"{option}: cannot listen on {address}: {why}"
