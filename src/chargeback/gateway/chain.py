"""The handler chain: which handlers a connection has, in which order, and which hooks they have.

A handler is a small class built per connection with its `ConnectionContext`. It defines only the
hooks it needs, named after kio's API names: `on_<api>_request(frame)` and
`on_<api>_response(frame)` (e.g. `on_produce_request`, `on_fetch_response`), and optionally
`on_connection_open()` / `on_connection_close()`. Hooks are synchronous and do no I/O: they read
the frame, may `replace()` its body, may `reply()` to a request locally, or raise `FrameError`
to close the connection. A local reply that needs slow CPU work (a password's key derivation)
is made with `reply_after(work, answer)`: the connection loop runs `work` in a worker thread.

Requests pass the handlers in chain order, responses in reverse order (the handler nearest to
the broker sees the response first). An API no handler hooks is never decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kio.schema.index import api_key_map

from chargeback.gateway.context import ConnectionContext
from chargeback.gateway.frames import RequestFrame, ResponseFrame
from chargeback.gateway.handlers.api_versions import ApiVersionsCap
from chargeback.gateway.handlers.broker_addresses import BrokerAddresses
from chargeback.gateway.handlers.fetch_meter import FetchMeter
from chargeback.gateway.handlers.produce_meter import ProduceMeter
from chargeback.gateway.handlers.sasl_identity import identity_handlers
from chargeback.gateway.handlers.topic_names import TopicNames

RequestHook = Callable[[RequestFrame], None]
ResponseHook = Callable[[ResponseFrame], None]


def handlers_for(connection: ConnectionContext) -> list[object]:
    """The chain, in order: the one place that decides which handlers run and when."""
    return [
        ApiVersionsCap(connection),
        *identity_handlers(connection),
        BrokerAddresses(connection),
        TopicNames(connection),
        ProduceMeter(connection),
        FetchMeter(connection),
    ]


@dataclass(frozen=True, slots=True)
class Chain:
    """One connection's handlers and its table from API key to hooks."""

    handlers: Sequence[object]
    request_hooks: dict[int, tuple[RequestHook, ...]]
    response_hooks: dict[int, tuple[ResponseHook, ...]]

    def open(self) -> None:
        """Tell the handlers that the connection is open."""
        for handler in self.handlers:
            hook = getattr(handler, "on_connection_open", None)
            if hook is not None:
                hook()

    def close(self) -> None:
        """Tell the handlers that the connection is closed."""
        for handler in self.handlers:
            hook = getattr(handler, "on_connection_close", None)
            if hook is not None:
                hook()


def build_chain(
    connection: ConnectionContext,
    handlers: Callable[[ConnectionContext], list[object]] = handlers_for,
) -> Chain:
    """Build `connection`'s chain and record its hooked API keys on the connection."""
    chain_handlers = handlers(connection)
    requests: dict[int, list[RequestHook]] = {}
    responses: dict[int, list[ResponseHook]] = {}
    for handler in chain_handlers:
        for api_key, hook_name in _hook_names(type(handler), "request"):
            requests.setdefault(api_key, []).append(getattr(handler, hook_name))
    for handler in reversed(chain_handlers):
        for api_key, hook_name in _hook_names(type(handler), "response"):
            responses.setdefault(api_key, []).append(getattr(handler, hook_name))
    connection.hooked_api_keys = frozenset(requests) | frozenset(responses)
    return Chain(
        chain_handlers,
        {key: tuple(hooks) for key, hooks in requests.items()},
        {key: tuple(hooks) for key, hooks in responses.items()},
    )


_hook_names_cache: dict[tuple[type[Any], str], tuple[tuple[int, str], ...]] = {}


def _hook_names(handler_type: type[Any], kind: str) -> tuple[tuple[int, str], ...]:
    """Return (api key, method name) for each `on_<api>_<kind>` hook the class defines."""
    cached = _hook_names_cache.get((handler_type, kind))
    if cached is not None:
        return cached
    found = []
    for api_key, api_name in sorted(api_key_map.items()):
        name = f"on_{api_name}_{kind}"
        if callable(getattr(handler_type, name, None)):
            found.append((api_key, name))
    _hook_names_cache[(handler_type, kind)] = tuple(found)
    return tuple(found)
