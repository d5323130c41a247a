"""`chargeback gateway` as a process: options, config file, the store as sink, SIGTERM flush."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chargeback.broker import EmbeddedBroker, free_port
from chargeback.store import open_store
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, produce
from tests.gateway.harness import chargeback_command, free_port_block, wait_until_serving
from tests.gateway.raw_kafka import stored_data_bytes

pytestmark = pytest.mark.broker


def _ingress_in_store(db_url: str) -> dict[str, int]:
    store = open_store(db_url)
    try:
        today = datetime.now(UTC).date()
        with warnings.catch_warnings():
            # The store's own deprecation warnings are the store's tests' business; this test
            # only reads the totals back.
            warnings.simplefilter("ignore", DeprecationWarning)
            totals = store.daily_usage("UTC", today, today, "cmd-test")
    finally:
        store.close()
    return {t.service_account: t.bytes for t in totals if t.direction == Direction.INGRESS}


def test_the_command_meters_into_the_store_and_flushes_on_sigterm(
    broker: EmbeddedBroker, tmp_path: Path, topic: str
) -> None:
    # Given: options partly in the config file's [gateway] table, partly on the command line
    db_url = f"sqlite:///{tmp_path / 'usage.db'}"
    listen_port, metrics_port = free_port_block(), free_port()
    config = tmp_path / "chargeback.toml"
    config.write_text(
        f'[gateway]\nbootstrap_server = "{broker.bootstrap}"\ncluster = "cmd-test"\n'
        f"flush_interval = 3600\nmetrics_port = {metrics_port}\n"
    )
    command = [chargeback_command(), "--db", db_url, "--config", str(config), "gateway"]
    command += ["--listen", f"127.0.0.1:{listen_port}", "--principal", "client-id"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until_serving(metrics_port, process)
        produce(f"127.0.0.1:{listen_port}", topic, [b"x" * 700] * 60, **{"client.id": "cmd"})
        # When: a flush interval of an hour, so only the shutdown can write the usage
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=DEADLINE_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # Then
    assert process.returncode == 0, stderr.decode()
    assert _ingress_in_store(db_url) == {"cmd": stored_data_bytes(broker.bootstrap, topic)}
    assert "event=flushed" in stderr.decode()
    assert f"metrics=127.0.0.1:{metrics_port}/metrics" in stderr.decode()


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        (["--listen", "127.0.0.1:99999"], "--listen: '127.0.0.1:99999' is not HOST:PORT"),
        (["--frame-timeout", "0"], "--frame-timeout: 0.0 is not a positive number"),
        (["--drain-timeout", "-1"], "--drain-timeout: -1.0 is not zero or more"),
    ],
)
def test_a_bad_option_is_named_and_nothing_starts(
    tmp_path: Path, option: list[str], problem: str
) -> None:
    # Given
    db_url = f"sqlite:///{tmp_path / 'usage.db'}"
    command = [chargeback_command(), "--db", db_url, "gateway", "--bootstrap-server", "kafka:9092"]
    # When
    result = subprocess.run(
        [*command, *option],
        capture_output=True,
        timeout=DEADLINE_SECONDS,
        env={**os.environ, "NO_COLOR": "1"},
    )
    # Then
    assert result.returncode == 2
    assert problem in result.stderr.decode()


@pytest.mark.parametrize("option", ["--listen", "--metrics-port"])
def test_a_port_in_use_is_one_line_naming_the_option(tmp_path: Path, option: str) -> None:
    # Given: the port the option names is taken by another program
    db_url = f"sqlite:///{tmp_path / 'usage.db'}"
    command = [chargeback_command(), "--db", db_url, "gateway", "--bootstrap-server", "kafka:9092"]
    command += ["--principal", "client-id"]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]
        listen, metrics = (port, free_port()) if option == "--listen" else (free_port_block(), port)
        command += ["--listen", f"127.0.0.1:{listen}", "--metrics-port", str(metrics)]
        # When
        result = subprocess.run(
            command,
            capture_output=True,
            timeout=DEADLINE_SECONDS,
            env={**os.environ, "NO_COLOR": "1"},
        )
    # Then: the last line says which option to change, without "[Errno 98]"
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert stderr.splitlines()[-1] == (
        f"error: {option}: cannot listen on 127.0.0.1:{port}: the port is in use by another "
        f"program; choose another with {option}"
    )
    assert "Errno" not in stderr
