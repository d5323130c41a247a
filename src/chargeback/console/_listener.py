"""The console's listening socket, bound before anything is announced, so that a port in use
is one clear line (naming the option to change) rather than a server log after a banner."""

from __future__ import annotations

import socket

from chargeback.console.errors import ConsoleError
from chargeback.errors import cannot_listen_message

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
