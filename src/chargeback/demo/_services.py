"""The long-running parts of the demo, each in a thread of this process: gateway and console.

Running them in-process (rather than as child processes) means that nothing but the broker is a
separate process, so stopping the demo cannot leave a gateway or a console behind.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Sequence

import uvicorn

from chargeback.console import ConsoleSettings, create_app, listen_socket
from chargeback.demo._logins import managed_identity
from chargeback.demo.errors import DemoError
from chargeback.gateway import Endpoint, Gateway, GatewaySettings, PrincipalMode
from chargeback.store import Store
from chargeback.usage import UsageRecord

_LOOPBACK = "127.0.0.1"
_START_TIMEOUT_SECONDS = 30.0
_STOP_TIMEOUT_SECONDS = 60.0


def bind_loopback(port: int, setting: str) -> socket.socket:
    """Bind a listening TCP socket on 127.0.0.1:`port` (0: any free port).

    Raises:
        ConsoleError: the port is taken or not allowed (the message names `setting`).
    """
    return listen_socket(_LOOPBACK, port, setting)


def free_port_pair() -> int:
    """Return a port P such that P and P + 1 are both free (the gateway's bootstrap and broker).

    Raises:
        DemoError: no such pair was found after a few tries.
    """
    for _ in range(50):
        with socket.socket() as first:
            first.bind((_LOOPBACK, 0))
            port: int = first.getsockname()[1]
            try:
                with socket.socket() as second:
                    second.bind((_LOOPBACK, port + 1))
            except OSError:
                continue
            return port
    raise DemoError("found no two consecutive free ports on 127.0.0.1 for the gateway")


def check_port_pair(port: int, setting: str) -> None:
    """Check that `port` and `port + 1` are free now, so that a taken one is said in words
    naming `setting` rather than in the gateway's own start-up error.

    Raises:
        ConsoleError: one of them is taken or not allowed.
    """
    for each in (port, port + 1):
        bind_loopback(each, setting).close()


class _StoreSink:
    """The store as the gateway's UsageSink (whose write_usage answers nothing)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> None:
        """Store one flushed batch; a batch id stored before is a no-op."""
        self._store.write_usage(batch_id, records)


class GatewayThread:
    """The metering gateway on its own asyncio loop in a thread, flushing into the store.

    Clients log in with SASL against the store's gateway users (gateway-managed mode); the
    broker (Tansu without authentication) sees the gateway's plain connections.
    """

    def __init__(
        self,
        store: Store,
        broker_bootstrap: str,
        listen_port: int,
        cluster: str,
        flush_interval_seconds: float,
    ) -> None:
        host, _, port = broker_bootstrap.rpartition(":")
        settings = GatewaySettings(
            bootstrap_servers=(Endpoint(host, int(port)),),
            listen=Endpoint(_LOOPBACK, listen_port),
            cluster=cluster,
            principal_mode=PrincipalMode.SASL,
            flush_interval_seconds=flush_interval_seconds,
            identity=managed_identity(store),
        )
        self._gateway = Gateway(settings, _StoreSink(store))
        self._thread = threading.Thread(target=self._run, name="demo-gateway")
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self.is_flushed = False

    @property
    def bootstrap(self) -> str:
        """The `host:port` the demo's clients (and yours) connect to."""
        return self._gateway.bootstrap

    def start(self) -> None:
        """Start the gateway and wait until it listens.

        Raises:
            DemoError: it did not start (its port is taken, for example).
        """
        self._thread.start()
        if not self._started.wait(_START_TIMEOUT_SECONDS) or self._failure is not None:
            raise DemoError(f"the metering gateway did not start: {self._failure}")

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self._gateway.start()
        except Exception as error:  # reported to start() by the event below
            self._failure = error
            self._started.set()
            return
        self._started.set()
        await self._stop.wait()
        self.is_flushed = await self._gateway.stop()

    def stop(self) -> None:
        """Close every connection, flush all counted usage to the store, and end the thread.

        Raises:
            DemoError: some counted usage could not be written to the store.
        """
        if self._failure is not None:
            return  # it never started (start() said why): nothing to close or flush
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.is_alive():
            self._thread.join(_STOP_TIMEOUT_SECONDS)
        if not self.is_flushed:
            raise DemoError(
                "the gateway could not write all counted usage to the store (see its log "
                "lines above); the demo's last traffic is not in the store"
            )


class ConsoleThread:
    """The console (page and API) served by uvicorn in a thread, on an already bound socket."""

    def __init__(self, store: Store, listener: socket.socket) -> None:
        config = uvicorn.Config(
            create_app(store, ConsoleSettings()),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._listener = listener
        self._thread = threading.Thread(target=self._run, name="demo-console")

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._listener]))

    def start(self) -> None:
        """Start serving and wait until the console answers.

        Raises:
            DemoError: uvicorn did not start in time.
        """
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not self._server.started:
            raise DemoError("the console did not start")

    def stop(self) -> None:
        """Stop serving, end the thread and close the listening socket."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_STOP_TIMEOUT_SECONDS)
        self._listener.close()
