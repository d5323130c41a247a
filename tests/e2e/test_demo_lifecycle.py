"""`chargeback demo` starts, stops and leaves nothing behind: no broker process, no open port."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable

import pytest

from tests.e2e.demo_process import (
    DemoRun,
    child_pids,
    free_port,
    is_alive,
    is_port_free,
    wait_for,
)

pytestmark = pytest.mark.broker

DemoFactory = Callable[..., DemoRun]
LEDGER = "demo-ledger.json"
# What the demo says while it stops, in this order.
STOP_STEPS = [
    "Stopping the demo",
    "  producers: sending what they have queued ...",
    "  consumers: reading up to the end of every partition",
    "  console: stopping ...",
    "  gateway: closing connections, writing its last counts to the store ...",
    "  broker: stopping ...",
    "Demo stopped; nothing of it is left running.",
]


def _positions(text: str, lines: list[str]) -> list[int]:
    """Where each of `lines` starts in `text` (each must be there)."""
    missing = [line for line in lines if line not in text]
    assert missing == [], text
    return [text.index(line) for line in lines]


def _assert_nothing_left(run: DemoRun, children: list[int], ports: list[int]) -> None:
    assert children, "the demo should have started the broker as a child process"
    assert [pid for pid in children if is_alive(pid)] == []
    assert [port for port in ports if not is_port_free(port)] == []


def test_demo_stops_by_itself_at_the_end_of_its_duration(demo_factory: DemoFactory) -> None:
    # Given a demo asked to run for a short while, up and serving
    run = demo_factory("--duration", "8")
    wait_for(run.is_running, 60, "the demo to start")
    children = child_pids(run.process.pid)
    gateway_port = run.gateway_port()

    # When its duration ends
    exit_code = run.wait_exit(120)

    # Then it exited cleanly, said what it waited for and where the ledger is, logged no
    # error, and left no process or port behind
    text = run.text()
    assert exit_code == 0, text
    assert _positions(text, STOP_STEPS) == sorted(_positions(text, STOP_STEPS)), text
    assert f"ledger of what the apps sent and received: {run.data_dir / LEDGER}\n" in text
    assert [line for line in text.splitlines() if "ERROR" in line] == []
    _assert_nothing_left(run, children, [run.port, gateway_port, gateway_port + 1])


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_demo_stops_cleanly_on_ctrl_c_or_sigterm(
    demo_factory: DemoFactory, signal_number: signal.Signals
) -> None:
    # Given a demo running with no duration, its apps producing and consuming
    run = demo_factory()
    wait_for(run.is_running, 60, "the demo to start")
    children = child_pids(run.process.pid)
    gateway_port = run.gateway_port()

    # When the terminal's process group gets the signal
    run.signal_group(signal_number)

    # Then it stops every part, writes its ledger and exits 0
    exit_code = run.wait_exit(120)
    assert exit_code == 0, run.text()
    assert run.ledger() is not None
    _assert_nothing_left(run, children, [run.port, gateway_port, gateway_port + 1])


@pytest.mark.parametrize("option", ["--port", "--gateway-port"])
def test_demo_refuses_a_port_in_use_with_a_clear_message(
    demo_factory: DemoFactory, option: str
) -> None:
    # Given the port is taken by another program
    port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen(1)

        # When the demo is started with that port for the console or the gateway
        ports = {"port": port} if option == "--port" else {}
        taken = [] if option == "--port" else [option, str(port)]
        run = demo_factory("--duration", "30", *taken, **ports)
        exit_code = run.wait_exit(60)

    # Then it fails with one line naming the option and the port, no errno, no traceback
    assert exit_code == 1
    assert (
        f"error: {option}: cannot listen on 127.0.0.1:{port}: the port is in use by another "
        f"program; choose another with {option}\n"
    ) in run.text()
    assert "Errno" not in run.text()
    assert "Traceback" not in run.text()
