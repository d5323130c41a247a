"""A TCP relay that plays the broker's side of a connection closing.

It stands between the gateway and Tansu (Tansu advertises the relay's port, so every upstream
connection of the gateway passes it) and forwards bytes untouched. It closes connections the
way a broker does: one after an idle timeout (Kafka's `connections.max.idle.ms`), or all at
once while traffic flows (a broker crash or restart): when the bytes sent towards the broker
reach a given count, which may be in the middle of a request. Tansu itself has no idle timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from chargeback.broker import free_port

_CHUNK_BYTES = 64 * 1024


class _Pair:
    """One relayed connection: the gateway's side and the broker's side."""

    def __init__(
        self,
        number: int,
        gateway: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        broker: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.number = number
        self.gateway = gateway
        self.broker = broker
        self.last_activity = time.monotonic()

    def close(self, *, reset: bool) -> None:
        """Close both sides: a FIN to the gateway, or an RST when `reset`."""
        for _, writer in (self.gateway, self.broker):
            if reset:
                writer.transport.abort()
            else:
                writer.close()


class BrokerSideRelay:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream_port`, in a thread of its own.

    `cut_at_bytes_to_broker`: totals of bytes sent towards the broker (over all connections) at
    which every connection is closed, with an RST when `reset`, else a FIN.
    """

    def __init__(
        self,
        upstream_port: int,
        *,
        idle_timeout_seconds: float | None = None,
        cut_at_bytes_to_broker: Sequence[int] = (),
        reset: bool = False,
    ) -> None:
        self.port = free_port()
        self.upstream_port = upstream_port
        self.idle_timeout_seconds = idle_timeout_seconds
        self.accepted = 0
        self.closed_by_relay = 0
        self.bytes_to_broker = 0
        self.cuts_done = 0
        self._cuts = sorted(cut_at_bytes_to_broker)
        self._cut_is_due = False
        self._reset = reset
        self._pairs: set[_Pair] = set()
        self._numbers = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> BrokerSideRelay:
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def open_connections(self) -> frozenset[int]:
        """The numbers of the relayed connections open now (numbered in order of accepting)."""
        return frozenset(pair.number for pair in list(self._pairs))

    def _call(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=60)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for pair in list(self._pairs):
            self._close(pair, reset=True)
        await self._server.wait_closed()

    def _close(self, pair: _Pair, *, reset: bool) -> None:
        if pair in self._pairs:
            self._pairs.discard(pair)
            self.closed_by_relay += 1
            pair.close(reset=reset)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        broker = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        pair = _Pair(next(self._numbers), (reader, writer), broker)
        self._pairs.add(pair)
        pumps = [
            asyncio.create_task(self._pump(pair, reader, broker[1], is_to_broker=True)),
            asyncio.create_task(self._pump(pair, broker[0], writer, is_to_broker=False)),
        ]
        if self.idle_timeout_seconds is not None:
            pumps.append(asyncio.create_task(self._close_when_idle(pair)))
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        # Closed by a peer (not by us): close the other side too, without counting it.
        self._pairs.discard(pair)
        pair.close(reset=False)

    async def _pump(
        self,
        pair: _Pair,
        source: asyncio.StreamReader,
        target: asyncio.StreamWriter,
        *,
        is_to_broker: bool,
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await source.read(_CHUNK_BYTES):
                pair.last_activity = time.monotonic()
                if is_to_broker:
                    chunk = self._count_towards_cuts(chunk)
                target.write(chunk)
                if is_to_broker and self._cut_is_due:
                    # No await since the cut was found due: no other connection moves first.
                    self._cut_everything()
                    return
                await target.drain()

    def _count_towards_cuts(self, chunk: bytes) -> bytes:
        """Return the part of `chunk` to forward: up to the next cut, if it falls inside."""
        if self._cuts and self.bytes_to_broker + len(chunk) >= self._cuts[0]:
            chunk = chunk[: self._cuts[0] - self.bytes_to_broker]
            self._cut_is_due = True
        self.bytes_to_broker += len(chunk)
        return chunk

    def _cut_everything(self) -> None:
        self._cuts.pop(0)
        self._cut_is_due = False
        self.cuts_done += 1
        for pair in list(self._pairs):
            self._close(pair, reset=self._reset)

    async def _close_when_idle(self, pair: _Pair) -> None:
        assert self.idle_timeout_seconds is not None
        while True:
            idle_seconds = time.monotonic() - pair.last_activity
            if idle_seconds >= self.idle_timeout_seconds:
                self._close(pair, reset=False)
                return
            # The timer of the simulated idle timeout, not a wait for a condition.
            await asyncio.sleep(self.idle_timeout_seconds - idle_seconds)
