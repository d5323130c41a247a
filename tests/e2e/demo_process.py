"""Run the installed `chargeback demo` as a user would, and look at it from outside.

The demo runs as a subprocess in its own process group (as in a terminal), with its output in a
file; these helpers wait for conditions (the console answers, the ledger exists) with deadlines,
never for fixed times.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

CHARGEBACK = Path(sys.executable).parent / "chargeback"
ADMIN_PASSWORD = "e2e-demo-password"
T = TypeVar("T")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def is_port_free(port: int) -> bool:
    """Whether something could listen on 127.0.0.1:`port` now."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(condition: Callable[[], T | None], timeout_seconds: float, what: str) -> T:
    """Return `condition()`'s first truthy value; fail naming `what` after the deadline."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_seconds} s waiting for {what}")
        time.sleep(0.2)


def poll(read: Callable[[], T], until: Callable[[T], bool], timeout_seconds: float) -> T:
    """Read until `until(value)` holds or the deadline passes; return the last value read."""
    deadline = time.monotonic() + timeout_seconds
    value = read()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(0.5)
        value = read()
    return value


def child_pids(parent_pid: int) -> list[int]:
    """The pids of the processes whose parent is `parent_pid` (read from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent_pid:
            children.append(int(stat.parent.name))
    return children


def is_alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class DemoRun:
    """One `chargeback demo` subprocess and what it told us."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    output: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        """Everything the demo printed so far (stdout and stderr)."""
        return self.output.read_text(errors="replace")

    def gateway_port(self) -> int:
        """The gateway's bootstrap port, as the demo announced it."""
        found = re.search(r"gateway\): 127\.0\.0\.1:(\d+)", self.text())
        assert found is not None, self.text()
        return int(found.group(1))

    def is_running(self) -> bool:
        """Whether the demo has announced itself (all parts started) and its console answers."""
        return "Sign in as" in self.text() and self.is_console_up()

    def is_console_up(self) -> bool:
        """Whether the console answers its health check."""
        try:
            return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """GET an API route as admin with HTTP Basic and return its JSON."""
        response = httpx.get(
            f"{self.base_url}{path}",
            params=params,
            auth=("admin", ADMIN_PASSWORD),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def ledger(self) -> dict[str, Any] | None:
        """The demo's ledger of real traffic, once written."""
        path = self.data_dir / "demo-ledger.json"
        return json.loads(path.read_text()) if path.exists() else None

    def signal_group(self, signal_number: int) -> None:
        """Send a signal to the demo's process group, as a terminal does on Ctrl-C."""
        os.killpg(self.process.pid, signal_number)

    def wait_exit(self, timeout_seconds: float) -> int:
        """Wait for the demo to end; return its exit code."""
        try:
            return self.process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the demo did not stop within {timeout_seconds} s:\n{self.text()}")

    def kill(self) -> None:
        """Make sure the demo and its broker are gone (cleanup after a failed test)."""
        children = child_pids(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for pid in children:
            if is_alive(pid):
                os.kill(pid, signal.SIGKILL)


def start_demo(tmp_path: Path, *options: str, port: int | None = None) -> DemoRun:
    """Start `chargeback demo` with a data dir under `tmp_path` and the test admin password."""
    data_dir = tmp_path / "demo-data"
    output = tmp_path / "demo-output.txt"
    console_port = port or free_port()
    command = [
        str(CHARGEBACK),
        "demo",
        "--port",
        str(console_port),
        "--data-dir",
        str(data_dir),
        "--admin-password",
        ADMIN_PASSWORD,
        *options,
    ]
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    return DemoRun(process, console_port, data_dir, output)
