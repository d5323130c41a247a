"""The gateway server: listeners (bootstrap port + one port per broker), connections, flushing."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import weakref
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from chargeback.errors import cannot_listen_message
from chargeback.gateway.brokers import BrokerDirectory, Endpoint
from chargeback.gateway.chain import build_chain, handlers_for
from chargeback.gateway.connection import ClientConnection
from chargeback.gateway.context import ANONYMOUS, ConnectionContext, GatewayState
from chargeback.gateway.counts import UsageCounts
from chargeback.gateway.errors import GatewayError, UpstreamError
from chargeback.gateway.flush import Flusher
from chargeback.gateway.handlers.sasl_upstream import login_upstream
from chargeback.gateway.metrics import GatewayMetrics
from chargeback.gateway.settings import GatewaySettings, PrincipalMode
from chargeback.gateway.streams import describe_peer, keep_alive
from chargeback.gateway.topics import TopicNameCache
from chargeback.usage import ClusterName, UsageSink

log = logging.getLogger(__name__)

# Large enough that a 1 MB fetch response needs few reads; the reader still pauses the socket
# at twice this much unread data, which bounds memory per connection.
_STREAM_LIMIT_BYTES = 1024 * 1024

# While a large frame streams through, writing may run this far ahead of the receiver before
# the gateway stops reading (asyncio's default, 64 KiB, makes reading and writing take turns).
_WRITE_BUFFER_HIGH_BYTES = 8 * 1024 * 1024
_WRITE_BUFFER_LOW_BYTES = 2 * 1024 * 1024

HandlerFactory = Callable[[ConnectionContext], list[object]]


class Gateway:
    """A running metering gateway. `start()`, then `stop()` (which flushes everything)."""

    def __init__(
        self,
        settings: GatewaySettings,
        sink: UsageSink,
        *,
        handlers: HandlerFactory = handlers_for,
    ) -> None:
        self.settings = settings
        self.metrics = GatewayMetrics()
        topics = TopicNameCache()
        self.state = GatewayState(
            settings=settings,
            brokers=BrokerDirectory(settings.listen.port, settings.advertised),
            topics=topics,
            counts=UsageCounts(ClusterName(settings.cluster), topics),
            metrics=self.metrics,
        )
        self._handlers = handlers
        self._flusher = Flusher(
            self.state.counts, sink, self.metrics, settings.flush_interval_seconds
        )
        self._servers: dict[int, asyncio.Server] = {}
        # One connection opens new broker ports at a time; the others wait until they listen.
        self._opening_ports = asyncio.Lock()
        self._connections: set[asyncio.Task[None]] = set()
        # The connections proxying now (past the upstream connect), by their task.
        self._proxying: dict[asyncio.Task[None], ClientConnection] = {}
        self._is_stopping = False
        # Weak: a transport leaves the set when it is gone; stop() aborts those still alive.
        self._transports: weakref.WeakSet[asyncio.WriteTransport] = weakref.WeakSet()
        self._connection_ids = itertools.count(1)
        self._metrics_server: WSGIServer | None = None

    @property
    def bootstrap(self) -> str:
        """The `host:port` clients use as their bootstrap server."""
        return f"{self.settings.advertised}:{self.settings.listen.port}"

    async def start(self) -> None:
        """Open the bootstrap listener, the metrics endpoint and the flush thread.

        Raises:
            GatewayError: a port cannot be opened.
        """
        await self._listen(self.settings.listen.port)
        if self.settings.metrics_port is not None:
            self._metrics_server = _serve_metrics(self.settings, self.metrics)
        self._flusher.start()
        metrics = self.settings.metrics_port
        log.info(
            "event=gateway_started listen=%s bootstrap_servers=%s cluster=%s principal=%s "
            "metrics=%s",  # metrics: where /metrics answers, as listen= writes addresses
            self.settings.listen,
            ",".join(str(e) for e in self.settings.bootstrap_servers),
            self.settings.cluster,
            self.settings.principal_mode,
            "off" if metrics is None else f"{Endpoint(self.settings.listen.host, metrics)}/metrics",
        )

    async def open_new_broker_ports(self) -> None:
        """Open listeners for brokers that responses named for the first time.

        Returns once every port assigned so far listens (or failed to): connections call
        this before they forward a response naming a new broker, and one that finds the port
        being opened by another connection waits for it here, rather than letting its client
        connect to a port that does not listen yet (a refused connection).
        """
        async with self._opening_ports:
            if self._is_stopping:
                return  # a port opened now would never be closed
            for port in self.state.brokers.unopened_ports():
                try:
                    await self._listen(port)
                except GatewayError as error:
                    self.metrics.errors.labels("listen").inc()
                    log.error("event=broker_port_failed port=%d error=%r", port, str(error))
                finally:
                    self.state.brokers.mark_opened(port)

    async def _listen(self, port: int) -> None:
        try:
            server = await asyncio.start_server(
                lambda r, w: self._accept(r, w, port),
                self.settings.listen.host,
                port,
                ssl=self.settings.client_tls,
                limit=_STREAM_LIMIT_BYTES,
            )
        except OSError as error:
            # Broker ports are numbered on from --listen's port, so --listen is what to change.
            raise GatewayError(
                cannot_listen_message(self.settings.listen.host, port, "--listen", error)
            ) from None
        self._servers[port] = server

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._transports.add(writer.transport)
        self.metrics.connections.inc()
        self.metrics.connections_open.inc()
        try:
            await self._serve(reader, writer, port)
        except asyncio.CancelledError:
            # stop() cancels open connections; asyncio's server callback must not see that as
            # a failure of the connection handler.
            writer.close()
        finally:
            self.metrics.connections_open.dec()
            self._connections.discard(task)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int
    ) -> None:
        keep_alive(writer)
        address, certificate = describe_peer(writer)
        context = ConnectionContext(
            connection_id=next(self._connection_ids),
            client_address=address,
            gateway_port=port,
            shared=self.state,
            principal=ANONYMOUS,
            peer_certificate=certificate,
            charges_request_client_id=self.settings.principal_mode == PrincipalMode.CLIENT_ID,
        )
        try:
            upstream = await self._connect_upstream(port)
        except UpstreamError as error:
            self._refuse(writer, context, error)
            return
        # From here on the upstream connection is ours to close, whatever happens (a stop()
        # may cancel this task at any await).
        self._transports.add(upstream[1].transport)
        try:
            await self._login_upstream(upstream)
            log.info("event=connection_opened %s", context)
            chain = build_chain(context, self._handlers)
            for side in (writer, upstream[1]):
                side.transport.set_write_buffer_limits(
                    high=_WRITE_BUFFER_HIGH_BYTES, low=_WRITE_BUFFER_LOW_BYTES
                )
            connection = ClientConnection(
                context, chain, (reader, writer), upstream, self.open_new_broker_ports
            )
            await self._proxy(connection)
        except UpstreamError as error:
            self._refuse(writer, context, error)
        finally:
            upstream[1].close()

    async def _proxy(self, connection: ClientConnection) -> None:
        """Run `connection`, known to `stop()` meanwhile (which lets it drain)."""
        task = asyncio.current_task()
        assert task is not None
        self._proxying[task] = connection
        try:
            if self._is_stopping:
                connection.stop_reading()
            await connection.run()
        finally:
            del self._proxying[task]

    def _refuse(
        self, writer: asyncio.StreamWriter, context: ConnectionContext, error: UpstreamError
    ) -> None:
        self.metrics.errors.labels("upstream").inc()
        log.warning("event=upstream_unreachable %s error=%r", context, str(error))
        writer.close()

    async def _login_upstream(
        self, upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    ) -> None:
        """Log in to the broker with the gateway's own SASL credentials, if it has any."""
        login = self.settings.identity.upstream_sasl
        if login is None:
            return
        try:
            await asyncio.wait_for(
                login_upstream(*upstream, login), self.settings.upstream_connect_timeout_seconds
            )
        except (UpstreamError, TimeoutError) as error:
            upstream[1].close()
            raise UpstreamError(f"SASL login to the broker failed: {error!r}") from error

    async def _connect_upstream(
        self, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        broker = self.state.brokers.upstream_for(port)
        candidates = (broker,) if broker is not None else self.settings.bootstrap_servers
        failures = []
        for endpoint in candidates:
            try:
                # asyncio.timeout, not wait_for: wait_for (3.11) can drop a connection that
                # completes just as it is cancelled, leaking its socket.
                async with asyncio.timeout(self.settings.upstream_connect_timeout_seconds):
                    reader, writer = await asyncio.open_connection(
                        endpoint.host,
                        endpoint.port,
                        ssl=self.settings.upstream_tls,
                        limit=_STREAM_LIMIT_BYTES,
                    )
                keep_alive(writer)
                return reader, writer
            except (OSError, TimeoutError) as error:
                failures.append(f"{endpoint}: {error or type(error).__name__}")
        raise UpstreamError("no broker reachable (" + "; ".join(failures) + ")")

    @property
    def is_stopping(self) -> bool:
        """Whether `stop()` has begun."""
        return self._is_stopping

    async def stop(self) -> bool:
        """Stop listening and reading requests, let the brokers answer the requests they were
        sent (up to the drain timeout), close every connection, then flush all usage.

        Returns whether all usage reached the sink.
        """
        self._is_stopping = True
        for server in self._servers.values():
            server.close()
        # Connections accepted just now start their task on the next loop iteration.
        await asyncio.sleep(0)
        await self._drain_connections()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        # A closed transport still holding unsent data keeps its socket until a peer that may
        # never read takes it; at shutdown nothing more is owed to anyone.
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        for server in self._servers.values():
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
        is_flushed = await asyncio.to_thread(self._flusher.stop)
        log.info("event=gateway_stopped flushed=%s", is_flushed)
        return is_flushed

    async def _drain_connections(self) -> None:
        """Stop reading requests; wait for the connections to drain, up to the drain timeout.

        A connection not yet proxying has forwarded nothing: it is closed at once.
        """
        connections = list(self._connections)
        if not connections:
            return
        for task in connections:
            connection = self._proxying.get(task)
            if connection is None:
                task.cancel()
            else:
                connection.stop_reading()
        log.info("event=gateway_draining connections=%d", len(self._proxying))
        _, pending = await asyncio.wait(connections, timeout=self.settings.drain_timeout_seconds)
        if pending:
            log.warning(
                "event=drain_incomplete connections=%d drain_timeout_seconds=%g",
                len(pending),
                self.settings.drain_timeout_seconds,
            )

    def flush_now(self) -> bool:
        """Flush counted usage immediately (blocking); return whether nothing is left pending."""
        return self._flusher.flush()

    def listening_ports(self) -> list[int]:
        """The ports the gateway listens on now (bootstrap first)."""
        return list(self._servers)


def _serve_metrics(settings: GatewaySettings, metrics: GatewayMetrics) -> WSGIServer:
    assert settings.metrics_port is not None
    try:
        server, _ = start_http_server(
            settings.metrics_port, addr=settings.listen.host, registry=metrics.registry
        )
    except OSError as error:
        raise GatewayError(
            cannot_listen_message(
                settings.listen.host, settings.metrics_port, "--metrics-port", error
            )
        ) from None
    return server


def run_gateway(settings: GatewaySettings, sink: UsageSink) -> bool:
    """Run a gateway until SIGTERM or SIGINT; return whether all usage was flushed."""
    return asyncio.run(_run_until_signalled(settings, sink))


async def _run_until_signalled(settings: GatewaySettings, sink: UsageSink) -> bool:
    gateway = Gateway(settings, sink)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    await gateway.start()
    await stop.wait()
    log.info("event=gateway_stopping")
    return await gateway.stop()


__all__ = ["Endpoint", "Gateway", "run_gateway"]
