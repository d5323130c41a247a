"""Frames as hooks see them: the raw bytes, the header, and the body decoded only on demand.

A frame that no hook replaces is forwarded as the very bytes that arrived. `message()` decodes
the body with kio (for small messages that a hook rewrites), `skim()` walks it leaving record
sets in place (for Produce and Fetch), and `replace()` swaps in a new body behind the original
header bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from kio.index import load_request_schema, load_response_schema
from kio.serial import entity_reader, entity_writer
from kio.serial.errors import SerialError
from kio.static.primitive import i32
from kio.static.protocol import Entity

from chargeback.gateway.errors import FrameError
from chargeback.gateway.skim import Skimmed, skim
from chargeback.gateway.wire import RequestHeader


class _Frame:
    """What request and response frames share: raw bytes, lazy body, replacement."""

    __slots__ = ("_message", "_replacement", "_skimmed", "body_offset", "raw", "schema")

    def __init__(self, raw: bytes, body_offset: int, schema: type[Entity]) -> None:
        self.raw = raw
        self.body_offset = body_offset
        self.schema = schema
        self._message: Any = None
        self._skimmed: Skimmed | None = None
        self._replacement: bytes | None = None

    def message(self) -> Any:
        """Return the body decoded by kio (cached).

        Raises:
            FrameError: the body does not decode as `schema`.
        """
        if self._message is None:
            try:
                self._message, _ = entity_reader(self.schema)(self.raw, self.body_offset)
            except (SerialError, ValueError, TypeError, UnicodeDecodeError) as error:
                raise FrameError(f"malformed {self.schema.__name__}: {error}") from error
        return self._message

    def skim(self) -> Skimmed:
        """Return the body with record sets as spans into `raw` (cached).

        Raises:
            FrameError: the body does not decode as `schema`.
        """
        if self._skimmed is None:
            try:
                self._skimmed = skim(self.schema, self.raw, self.body_offset)
            except (SerialError, ValueError, TypeError, UnicodeDecodeError) as error:
                raise FrameError(f"malformed {self.schema.__name__}: {error}") from error
        return self._skimmed

    def replace(self, message: Entity) -> None:
        """Forward `message` as the body instead of the original (header bytes unchanged)."""
        body = io.BytesIO()
        entity_writer(type(message))(body, message)
        self._message = message
        self._skimmed = None
        self._replacement = self.raw[: self.body_offset] + body.getvalue()

    @property
    def is_replaced(self) -> bool:
        """Whether a hook replaced the body."""
        return self._replacement is not None

    def encoded(self) -> bytes:
        """Return the frame payload to forward (without the size prefix)."""
        return self.raw if self._replacement is None else self._replacement


_Result = TypeVar("_Result")


@dataclass(frozen=True, slots=True)
class DeferredReply(Generic[_Result]):
    """A local reply that needs slow, CPU-bound work first (a password's key derivation).

    The connection loop runs `work` in a worker thread, so that other connections are not
    stalled, then `answer(result)` on the event loop to make the reply. It reads no further
    request of this connection meanwhile, so the next request sees the work's outcome.
    """

    work: Callable[[], _Result]
    answer: Callable[[_Result], Entity]


class RequestFrame(_Frame):
    """A client request whose api key and version kio knows.

    A hook may call `reply(message)` to answer the client itself: the request is then not
    forwarded, and `message` (a response entity) goes back with the request's correlation id.
    `reply_after(work, answer)` does the same with a reply that needs slow work first.
    """

    __slots__ = ("deferred_reply", "expects_response", "header", "local_reply")

    def __init__(self, raw: bytes, header: RequestHeader) -> None:
        assert header.body_offset is not None
        super().__init__(
            raw, header.body_offset, _request_schema(header.api_key, header.api_version)
        )
        self.header = header
        self.expects_response = True
        self.local_reply: Entity | None = None
        self.deferred_reply: DeferredReply[Any] | None = None

    def reply(self, message: Entity) -> None:
        """Answer the client with `message` instead of forwarding this request."""
        self.local_reply = message

    def reply_after(self, work: Callable[[], _Result], answer: Callable[[_Result], Entity]) -> None:
        """Answer the client with `answer(work())` instead of forwarding this request; `work`
        runs in a worker thread, off the event loop (see `DeferredReply`)."""
        self.deferred_reply = DeferredReply(work, answer)


class ResponseFrame(_Frame):
    """A broker response, with the header of the request it answers.

    `reaches_client` is False when the client is gone (it closed its connection, or the
    gateway closed it): the response is read only to learn what the broker did, and is
    delivered to no one.
    """

    __slots__ = ("reaches_client", "request")

    def __init__(
        self,
        raw: bytes,
        body_offset: int,
        request: RequestHeader,
        *,
        reaches_client: bool = True,
    ) -> None:
        super().__init__(raw, body_offset, _response_schema(request.api_key, request.api_version))
        self.request = request
        self.reaches_client = reaches_client


@cache
def _request_schema(api_key: int, api_version: int) -> type[Entity]:
    return load_request_schema(api_key, api_version)


@cache
def _response_schema(api_key: int, api_version: int) -> type[Entity]:
    return load_response_schema(api_key, api_version)


def encode_response(request: RequestHeader, message: Any) -> bytes:
    """Encode a locally made response to `request` (header v0 or v1, as its API version says)."""
    out = io.BytesIO()
    header = _response_header(request, message)
    entity_writer(type(header))(out, header)
    entity_writer(type(message))(out, message)
    return out.getvalue()


def _response_header(request: RequestHeader, message: Any) -> Any:
    header_schema: Any = type(message).__header_schema__
    return header_schema(correlation_id=i32(request.correlation_id))
