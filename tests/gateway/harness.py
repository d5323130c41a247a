"""A gateway running in a thread of its own, and a sink that remembers what it was given."""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx

from chargeback.gateway import Endpoint, Gateway, GatewaySettings, PrincipalMode
from chargeback.gateway.chain import handlers_for
from chargeback.gateway.server import HandlerFactory
from chargeback.usage import Direction, UsageRecord
from tests.gateway.clients import DEADLINE_SECONDS


class MemorySink:
    """A UsageSink keeping batches in memory; a batch id seen before changes nothing."""

    def __init__(self) -> None:
        self.batches: dict[str, list[UsageRecord]] = {}
        self.failures_to_simulate = 0
        self._lock = threading.Lock()

    def write_usage(self, batch_id: str, records: Sequence[UsageRecord]) -> None:
        with self._lock:
            if self.failures_to_simulate > 0:
                self.failures_to_simulate -= 1
                raise ConnectionError("simulated store outage")
            self.batches.setdefault(batch_id, list(records))

    def bytes_by(self, direction: Direction) -> dict[tuple[str, str], int]:
        """Return (service account, topic) -> bytes for `direction`."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        with self._lock:
            for records in self.batches.values():
                for record in records:
                    if record.direction == direction:
                        totals[(record.service_account, record.topic)] += record.bytes
        return dict(totals)


class GatewayThread:
    """Runs a `Gateway` on an event loop in a background thread (clients under test block)."""

    def __init__(
        self,
        bootstrap: str,
        sink: Any,
        *,
        handlers: HandlerFactory = handlers_for,
        **settings: Any,
    ) -> None:
        """`handlers` builds each connection's chain (tests may add an observing handler)."""
        host, port = bootstrap.rsplit(":", 1)
        defaults: dict[str, Any] = {
            "bootstrap_servers": (Endpoint(host, int(port)),),
            "listen": Endpoint("127.0.0.1", free_port_block()),
            "cluster": "test",
            "principal_mode": PrincipalMode.CLIENT_ID,
            "flush_interval_seconds": 3600.0,
        }
        defaults.update(settings)
        self.gateway = Gateway(GatewaySettings(**defaults), sink, handlers=handlers)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def bootstrap(self) -> str:
        return self.gateway.bootstrap

    def call(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=60)

    def start(self) -> GatewayThread:
        self._thread.start()
        self.call(self.gateway.start())
        return self

    def stop(self) -> bool:
        is_flushed: bool = self.call(self.gateway.stop())
        # As asyncio.run does: connections accepted while stopping still get to close.
        self.call(_cancel_other_tasks())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        return is_flushed

    def flush(self) -> bool:
        """Flush what the gateway has counted so far.

        A streamed response reaches the client just before the gateway meters it (in the same
        event-loop step); a no-op scheduled on the loop runs only after that step.
        """
        self.call(asyncio.sleep(0))
        return self.gateway.flush_now()

    def metric_value(self, name: str, **labels: str) -> float:
        """The current value of one of the gateway's metrics (0 when it has no sample yet)."""
        value = self.gateway.metrics.registry.get_sample_value(name, labels)
        return value or 0.0


async def _cancel_other_tasks() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def free_port_block(size: int = 4) -> int:
    """Return a port p such that p..p+size-1 look free (bootstrap plus broker ports).

    The block lies below the kernel's ephemeral port range: the gateway opens a broker port
    only when a response first names that broker, and in the meantime an outgoing connection
    (the gateway's own, or a client's) could be given a port from that range as its local
    port, and the listener would then fail with "address already in use".
    """
    ephemeral_low = _ephemeral_port_range()[0]
    for _ in range(200):
        port = random.randrange(10_000, ephemeral_low - size)
        if all(_is_free(port + i) for i in range(size)):
            return port
    raise RuntimeError("no block of free ports found")


def _ephemeral_port_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except OSError:
        return 32768, 60999  # Linux's default
    return int(low), int(high)


def _is_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def chargeback_command() -> str:
    """The path of the installed `chargeback` command (beside this interpreter)."""
    path = shutil.which("chargeback", path=str(Path(sys.executable).parent))
    assert path is not None, "the chargeback command is not installed in the venv"
    return path


def wait_until_serving(metrics_port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until a `chargeback gateway` process answers on its metrics port.

    Raises:
        AssertionError: the process exited (its stderr is the message) or the deadline passed.
    """
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the gateway did not start")
