"""The installed `chargeback` command end to end: a gateway user added with the CLI logs in to
`chargeback gateway --sasl-mode managed`, and its bytes land in the store under its name."""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chargeback.broker import EmbeddedBroker
from chargeback.store import open_store
from chargeback.usage import Direction
from tests.gateway.clients import DEADLINE_SECONDS, create_topic, produce
from tests.gateway.harness import free_port_block
from tests.gateway.raw_kafka import stored_data_bytes

pytestmark = pytest.mark.broker

CHARGEBACK = str(Path(sys.executable).with_name("chargeback"))


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        assert process.poll() is None, "the gateway exited early"
        assert time.monotonic() < deadline, "the gateway never listened"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


def test_cli_user_logs_in_to_the_cli_gateway_and_its_usage_reaches_the_store(
    broker: EmbeddedBroker, tmp_path: Path, topic: str
) -> None:
    # Given a store with gateway user "svc-e2e", and `chargeback gateway` in managed mode
    db = f"sqlite:///{tmp_path / 'e2e.db'}"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    subprocess.run(
        [CHARGEBACK, "--db", db, "gateway-users", "add", "svc-e2e", "--password-stdin"],
        input=b"e2e-password\n",
        check=True,
        env=env,
    )
    port = free_port_block()
    gateway = subprocess.Popen(
        [CHARGEBACK, "--db", db, "gateway", "--bootstrap-server", broker.bootstrap,
         "--listen", f"127.0.0.1:{port}", "--cluster", "e2e", "--sasl-mode", "managed"],
        env=env,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_until_listening(port, gateway)
        create_topic(broker.bootstrap, topic)
        # When svc-e2e produces with SCRAM-SHA-256, and the gateway is stopped with SIGTERM
        produce(
            f"127.0.0.1:{port}",
            topic,
            [b"e2e" * 100 for _ in range(30)],
            **{
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "SCRAM-SHA-256",
                "sasl.username": "svc-e2e",
                "sasl.password": "e2e-password",
            },
        )
    finally:
        gateway.send_signal(signal.SIGTERM)
        _, log = gateway.communicate(timeout=DEADLINE_SECONDS)
    # Then it exited cleanly, and the store holds the stored bytes as svc-e2e's ingress today
    today = datetime.datetime.now(datetime.UTC).date()
    store = open_store(db)
    try:
        totals = store.daily_usage("UTC", today, today, "e2e")
    finally:
        store.close()
    assert gateway.returncode == 0, log.decode()
    assert b"e2e-password" not in log
    assert [(t.service_account, t.direction, t.bytes) for t in totals] == [
        ("svc-e2e", Direction.INGRESS, stored_data_bytes(broker.bootstrap, topic))
    ]
