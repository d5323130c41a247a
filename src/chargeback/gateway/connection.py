"""One client connection and its upstream broker connection: the only place that awaits.

Two tasks per connection: client -> broker (requests) and broker -> client (responses). Every
request that expects a response is queued in order; responses go back to the client in that
order, so pipelined requests keep their order and local replies (from hooks) never overtake
broker responses. A response streamed to the client stays at the head of the queue until its
last byte is written, so nothing is ever written into the middle of it. acks=0 Produce
requests are not queued: nothing waits for their response, and one that arrives anyway (Tansu
answers them) is forwarded untouched.

Correlation is exact because no two requests that may still be answered share a correlation
id: a request reusing the id of a queued request, or of an acks=0 Produce whose answer may
still come (see `correlation`), closes the connection (`CorrelationIdReusedError`). Real
clients never do this; a client doing it could otherwise make one answer pass for another.

When the client side ends (the client closed, or the gateway closed it for a bad frame) or
the gateway stops, no further request is read, but the broker's answers to the requests it
was already sent are still read, up to the drain timeout, so that what the broker did is
metered (a Produce it stored costs, whether the client hears of it or not). They are
forwarded if the client is still there (a stopping gateway), else dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kio.schema.index import api_key_map

from chargeback.gateway import wire
from chargeback.gateway.chain import Chain
from chargeback.gateway.context import ANONYMOUS, ConnectionContext
from chargeback.gateway.deadline import FrameDeadline
from chargeback.gateway.errors import FrameError, FrameTimeoutError
from chargeback.gateway.frames import RequestFrame, ResponseFrame, encode_response
from chargeback.gateway.in_flight import InFlight, InFlightRequests
from chargeback.gateway.settings import PrincipalMode
from chargeback.gateway.streams import (
    ClientOutput,
    clear_traceback_frames,
    close_writer,
    forward_while_reading,
)
from chargeback.gateway.wire import RequestHeader
from chargeback.usage import Principal

log = logging.getLogger(__name__)

_PRODUCE_KEY = 0
_FETCH_KEY = 1
_CORRELATION_ID_BYTES = 4
# Fetch v16+ may carry broker addresses (node endpoints) that must be rewritten, which needs
# the whole response; up to v15 a Fetch response is never changed, so it can be streamed.
LAST_FETCH_VERSION_WITHOUT_ADDRESSES = 15
STREAM_THRESHOLD_BYTES = 256 * 1024
# Enough for any request header (client id, tags) and a Produce request's acks.
_REQUEST_HEAD_BYTES = 64 * 1024
# Responses are as large as the client asked them to be (fetch.max.bytes, and at least one
# whole batch): like Kafka's own clients, the gateway sets them no limit of its own.
_MAX_RESPONSE_FRAME_BYTES = 2**31 - 1


class ClientConnection:
    """Proxies one client connection to one upstream broker through the handler chain."""

    def __init__(
        self,
        context: ConnectionContext,
        chain: Chain,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        open_new_broker_ports: Callable[[], Awaitable[None]],
    ) -> None:
        self.context = context
        self._chain = chain
        self._client_reader, self._client_writer = client
        self._client = ClientOutput(self._client_writer)
        self._upstream_reader, self._upstream_writer = upstream
        self._open_new_broker_ports = open_new_broker_ports
        self._in_flight = InFlightRequests()
        self._settings = context.shared.settings
        self._metrics = context.shared.metrics
        self._frame_deadline = FrameDeadline(self._settings.frame_timeout_seconds)
        self._requests_task: asyncio.Task[None] | None = None
        self._is_stop_requested = False
        self._is_draining = False

    async def run(self) -> None:
        """Proxy until either side closes or a frame is malformed; let the broker answer what
        it was sent (see `_drain`); then close both sides."""
        requests = asyncio.create_task(
            self._requests(), name=f"requests-{self.context.connection_id}"
        )
        responses = asyncio.create_task(
            self._responses(), name=f"responses-{self.context.connection_id}"
        )
        self._requests_task = requests
        self._frame_deadline.watch(requests)
        tasks = [requests, responses]
        try:
            self._chain.open()
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self._log_end(task)
            if responses not in done:
                await self._drain(responses)
        finally:
            if self._in_flight.awaiting_broker and not responses.done():
                self._note_abandoned()
            self._frame_deadline.stop()
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            clear_traceback_frames(outcomes)
            self._chain.close()
            await close_writer(self._upstream_writer)
            await close_writer(self._client_writer)

    def stop_reading(self) -> None:
        """Read no further request (the gateway is stopping), then drain (see `_drain`) and
        close.

        A request only partly received is dropped: it was not forwarded, or (a large Produce
        forwarded while it arrives) not whole, and the broker drops an incomplete frame when
        the connection closes; so it is neither stored nor charged.
        """
        self._is_stop_requested = True
        if self._requests_task is not None:
            self._requests_task.cancel()

    async def _drain(self, responses: asyncio.Task[None]) -> None:
        """No more requests come: wait, up to the drain timeout, for the broker's answers to
        those it was sent, so that what it did is metered; forward them if the client is
        still there (a stopping gateway), else drop them."""
        self._frame_deadline.stop()
        if not self._is_stop_requested:
            # The client closed, or broke the rules: it gets nothing more.
            self._client.send_away()
        self._is_draining = True
        if not self._in_flight.awaiting_broker:
            return
        done, _ = await asyncio.wait([responses], timeout=self._settings.drain_timeout_seconds)
        if done:
            self._log_end(responses)

    def _note_abandoned(self) -> None:
        """The broker, still connected, did not answer in time: what it did is not known."""
        self._metrics.errors.labels("drain_timeout").inc()
        log.warning(
            "event=drain_timeout %s unanswered_requests=%d drain_timeout_seconds=%g",
            self.context,
            self._in_flight.awaiting_broker,
            self._settings.drain_timeout_seconds,
        )

    def _log_end(self, task: asyncio.Task[None]) -> None:
        error = task.exception()
        if error is None or isinstance(error, asyncio.IncompleteReadError | ConnectionError):
            log.info("event=connection_closed %s side=%s", self.context, task.get_name())
        elif isinstance(error, FrameError):
            self._metrics.errors.labels(error.kind).inc()
            log.warning("event=connection_closed %s reason=%r", self.context, str(error))
        else:
            self._metrics.errors.labels("internal").inc()
            log.error(
                "event=connection_failed %s error=%r", self.context, repr(error), exc_info=error
            )

    async def _requests(self) -> None:
        try:
            await self._forward_requests()
        except asyncio.CancelledError:
            if self._frame_deadline.expired:
                seconds = self._frame_deadline.seconds
                raise FrameTimeoutError(
                    f"request frame not complete {seconds:g} s after its first byte"
                ) from None
            if self._is_stop_requested:
                return
            raise

    async def _forward_requests(self) -> None:
        max_bytes = self._settings.max_frame_bytes
        reader = self._client_reader
        deadline = self._frame_deadline
        while not self._is_stop_requested:
            # Idle time between requests is the client's own; a frame once begun must end.
            first_byte = await reader.readexactly(1)
            deadline.begin()
            prefix = first_byte + await reader.readexactly(wire.FRAME_SIZE_BYTES - 1)
            size = wire.frame_size(prefix, max_bytes)
            head = await reader.readexactly(min(size, _REQUEST_HEAD_BYTES))
            header = wire.parse_request_header(head)
            if self.context.admit is not None:
                self.context.admit(header)
            self._note_client(header)
            self._in_flight.refuse_reuse(header, self.context)
            if self._is_streamable_request(header, size):
                await self._stream_request(head, size, header)
                deadline.end()
                continue
            frame = head + await reader.readexactly(size - len(head))
            deadline.end()
            payload = self._through_request_hooks(frame, header)
            if payload is not None:
                self._upstream_writer.write(wire.size_prefix(len(payload)) + payload)
                await self._upstream_writer.drain()
            else:
                await self._make_deferred_reply()
                await self._send_ready()

    async def _make_deferred_reply(self) -> None:
        """Make the local reply just queued if a hook deferred it: its work runs in a thread."""
        entry = self._in_flight.last
        if entry is None or entry.deferred is None:
            return
        deferred, entry.deferred = entry.deferred, None
        result = await asyncio.to_thread(deferred.work)
        entry.ready = encode_response(entry.header, deferred.answer(result))

    def _is_streamable_request(self, header: RequestHeader, size: int) -> bool:
        """Large Produce requests go upstream while they arrive; no hook changes a Produce."""
        return (
            size >= STREAM_THRESHOLD_BYTES
            and header.api_key == _PRODUCE_KEY
            and header.body_offset is not None
            and header.api_key in self.context.hooked_api_keys
        )

    async def _stream_request(self, head: bytes, size: int, header: RequestHeader) -> None:
        entry = self._expect_answer(head, header, is_parsed=True)
        try:
            frame, last_chunk = await forward_while_reading(
                self._client_reader, self._upstream_writer, head, size, hold_last_chunk=True
            )
            request = RequestFrame(frame, header)
            for hook in self._chain.request_hooks.get(header.api_key, ()):
                hook(request)
        except BaseException:
            # The broker has an incomplete frame, which it drops when the connection closes.
            if entry is not None:
                self._in_flight.withdraw(entry)
            raise
        # Only now the last bytes: a request a hook refused never reaches the broker whole,
        # and the response cannot come before the request's hooks ran (the Produce meter
        # keeps its batch sizes).
        self._upstream_writer.write(last_chunk)
        if request.is_replaced or request.local_reply is not None:
            self._metrics.errors.labels("streamed_request_changed").inc()
            log.error("event=streamed_request_changed %s (change not forwarded)", self.context)
        await self._upstream_writer.drain()

    def _note_client(self, header: RequestHeader) -> None:
        self._metrics.requests.labels(api_key_map.get(header.api_key, str(header.api_key))).inc()
        if header.client_id != self.context.client_id:
            self.context.client_id = header.client_id
            if self._settings.principal_mode == PrincipalMode.CLIENT_ID:
                # An empty client id names nobody (spec section 1).
                self.context.principal = Principal(header.client_id or ANONYMOUS)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "event=request %s api_key=%d version=%d correlation_id=%d",
                self.context,
                header.api_key,
                header.api_version,
                header.correlation_id,
            )

    def _through_request_hooks(self, frame: bytes, header: RequestHeader) -> bytes | None:
        """Run the request's hooks; return what to forward (None: answered locally)."""
        is_hooked = header.api_key in self.context.hooked_api_keys
        if is_hooked and header.body_offset is None:
            self._metrics.unmetered_frames.labels(
                api_key_map.get(header.api_key, str(header.api_key)), str(header.api_version)
            ).inc()
        if not is_hooked or header.body_offset is None:
            self._expect_answer(frame, header, is_parsed=False)
            return frame
        request = RequestFrame(frame, header)
        for hook in self._chain.request_hooks.get(header.api_key, ()):
            hook(request)
            if request.local_reply is not None:
                ready = encode_response(header, request.local_reply)
                self._in_flight.answer_locally(header, ready=ready)
                return None
            if request.deferred_reply is not None:
                self._in_flight.answer_locally(header, deferred=request.deferred_reply)
                return None
        self._expect_answer(frame, header, is_parsed=True)
        return request.encoded()

    def _expect_answer(
        self, frame: bytes, header: RequestHeader, *, is_parsed: bool
    ) -> InFlight | None:
        """Queue a request about to be forwarded; an acks=0 Produce is noted, not queued."""
        # Also for a Produce version too new to parse: a broker never answers acks=0, and a
        # response waited for in vain would hold up every later one.
        if header.api_key == _PRODUCE_KEY and wire.produce_acks(frame, header) == 0:
            self._in_flight.expect_maybe(header)
            return None
        return self._in_flight.expect(header, is_parsed=is_parsed)

    async def _responses(self) -> None:
        reader = self._upstream_reader
        in_flight = self._in_flight
        while not (self._is_draining and in_flight.awaiting_broker == 0):
            prefix = await reader.readexactly(wire.FRAME_SIZE_BYTES)
            size = wire.frame_size(prefix, _MAX_RESPONSE_FRAME_BYTES)
            head = await reader.readexactly(min(size, _CORRELATION_ID_BYTES))
            entry = in_flight.waiting_for(wire.response_correlation_id(head))
            if entry is not None and self._is_streamable(entry, size):
                await self._stream_response(head, size, entry)
            else:
                frame = head + await reader.readexactly(size - len(head))
                if entry is None:
                    # Unasked (e.g. Tansu answering acks=0): pass it on as it came.
                    self._write_to_client(frame)
                else:
                    in_flight.answered(entry)
                    entry.ready = self._through_response_hooks(frame, entry)
                    if self.context.shared.brokers.has_unopened_ports:
                        await self._open_new_broker_ports()
            await self._send_ready()

    def _is_streamable(self, entry: InFlight, size: int) -> bool:
        """Whether a response can go to the client while it arrives (cut-through).

        Only large Fetch responses next in line, of versions without broker addresses (so no
        hook can need to change them), to a client that is still there: the client then
        receives record data without waiting for the gateway to hold the whole response, and
        the meter reads it once complete.
        """
        header = entry.header
        return (
            size >= STREAM_THRESHOLD_BYTES
            and header.api_key == _FETCH_KEY
            and header.api_version <= LAST_FETCH_VERSION_WITHOUT_ADDRESSES
            and entry.is_parsed
            and self._in_flight.head is entry
            and not self._client.is_gone
        )

    async def _stream_response(self, head: bytes, size: int, entry: InFlight) -> None:
        # The entry stays at the head of the queue until its last byte is written: a reply
        # made meanwhile (a local SASL answer) waits behind it instead of landing inside it.
        frame, _ = await forward_while_reading(
            self._upstream_reader, self._client, head, size, hold_last_chunk=False
        )
        self._in_flight.pop_head()
        self._in_flight.answered(entry)
        if self._through_response_hooks(frame, entry) is not frame:
            self._metrics.errors.labels("streamed_response_changed").inc()
            log.error("event=streamed_response_changed %s (change not forwarded)", self.context)

    def _through_response_hooks(self, frame: bytes, entry: InFlight) -> bytes:
        header = entry.header
        hooks = self._chain.response_hooks.get(header.api_key, ())
        if not entry.is_parsed or not hooks:
            return frame
        is_flexible = wire.response_header_is_flexible(header.api_key, header.api_version)
        body_offset = wire.response_body_offset(frame, bool(is_flexible))
        response = ResponseFrame(
            frame, body_offset, header, reaches_client=not self._client.is_gone
        )
        for hook in hooks:
            hook(response)
        return response.encoded()

    async def _send_ready(self) -> None:
        for ready in self._in_flight.pop_ready():
            self._write_to_client(ready)
        await self._client.drain()

    def _write_to_client(self, payload: bytes) -> None:
        # One write, one send(): a separate prefix costs a system call and a wake-up per frame.
        self._client.write(wire.size_prefix(len(payload)) + payload)
