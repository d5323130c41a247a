"""`run_demo`: start every part, keep them running until told to stop, then stop them all.

Start order: store (and the admin user, and optional history), the console's port, the broker,
the gateway, the console, the client apps. Stop order is the reverse, each part stopped even if
another failed: the apps settle their ledger, the console stops, the gateway flushes its last
counts into the store, the broker process ends, the store closes.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from chargeback.broker import EmbeddedBroker
from chargeback.demo._admin import AdminLogin, ensure_admin
from chargeback.demo._cast import DEMO_CLUSTER, sasl_mechanisms
from chargeback.demo._history import add_history
from chargeback.demo._logins import make_logins
from chargeback.demo._prices import DEMO_PRICES, seed_demo_prices
from chargeback.demo._services import (
    ConsoleThread,
    GatewayThread,
    bind_loopback,
    check_port_pair,
    free_port_pair,
)
from chargeback.demo._traffic import Say, Traffic, create_topics
from chargeback.store import Store, open_store

_log = logging.getLogger("chargeback.demo")
STORE_FILE_NAME = "chargeback.db"

# The console opens on the live traffic's cost over a week: all five apps in one view, today's
# column beside Total. A few megabytes cost fractions of a cent, which the page shows with their
# significant digits; the bytes views follow for those who prefer sizes.
_LIVE_COST_VIEW = f"?period=7D&cluster={DEMO_CLUSTER}"
_LIVE_BYTES_VIEWS = {
    tab: f"?tab={tab}&period=7D&metric=bytes&cluster={DEMO_CLUSTER}"
    for tab in ("ingress", "egress")
}
# With --history: a year of cost over every cluster, the synthetic one included.
_YEAR_VIEW = "?period=12M"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What `chargeback demo` was asked to do. None durations mean "until Ctrl-C"."""

    data_dir: Path
    console_port: int = 8080
    duration_seconds: float | None = None
    traffic_seconds: float | None = None
    admin_password: str | None = None
    with_history: bool = False
    gateway_port: int | None = None
    flush_interval_seconds: float = 2.0


def store_url(data_dir: Path) -> str:
    """The SQLite store of a demo data directory."""
    return f"sqlite:///{data_dir / STORE_FILE_NAME}"


def run_demo(options: DemoOptions, say: Say) -> None:
    """Run the demo until Ctrl-C, SIGTERM or the end of `duration_seconds`.

    Raises:
        ChargebackError: a part could not start (its message says which and why).
    """
    options.data_dir.mkdir(parents=True, exist_ok=True)
    with _stop_requested() as stop, ExitStack() as stack:
        store = open_store(store_url(options.data_dir))
        stack.callback(store.close)
        login = ensure_admin(store, options.admin_password)
        if seed_demo_prices(store):
            say(
                f"Example prices set: {DEMO_PRICES.ingress_per_gb} {DEMO_PRICES.currency} per "
                f"produced GB, {DEMO_PRICES.egress_per_gb} per consumed GB (change them any time)."
            )
        if options.with_history:
            add_history(store, say)
        traffic = _start_parts(options, store, stack, say)
        _announce(options, login, traffic.gateway_bootstrap, say)
        _wait(options, traffic, stop, say)
        say("Stopping the demo (after a long run the apps' ledger takes a while):")
    say("Demo stopped; nothing of it is left running.")
    say(
        "  Its usage stays in its own store; the CLI reads it with: "
        f"chargeback --db {store_url(options.data_dir)} report --period 7D --cluster {DEMO_CLUSTER}"
    )


def _start_parts(options: DemoOptions, store: Store, stack: ExitStack, say: Say) -> Traffic:
    """Start broker, gateway, console and apps; `stack` stops them in reverse, saying so."""
    logins = make_logins(store, sasl_mechanisms())
    console_socket = bind_loopback(options.console_port, "--port")
    stack.callback(console_socket.close)
    if options.gateway_port is not None:
        check_port_pair(options.gateway_port, "--gateway-port")
    broker = EmbeddedBroker()
    broker.start()
    stack.callback(_step, say, "broker: stopping", broker.stop)
    create_topics(broker.bootstrap)
    gateway_port = options.gateway_port or free_port_pair()
    gateway = GatewayThread(
        store, broker.bootstrap, gateway_port, DEMO_CLUSTER, options.flush_interval_seconds
    )
    stack.callback(
        _step, say, "gateway: closing connections, writing its last counts to the store",
        gateway.stop,
    )  # fmt: skip
    gateway.start()
    console = ConsoleThread(store, console_socket)
    stack.callback(_step, say, "console: stopping", console.stop)
    console.start()
    traffic = Traffic(gateway.bootstrap, broker.bootstrap, logins)
    stack.callback(_settle_if_running, traffic, options.data_dir, say)
    traffic.start()
    return traffic


def _step(say: Say, what: str, stop: Callable[[], object]) -> None:
    say(f"  {what} ...")
    stop()


def _settle_if_running(traffic: Traffic, data_dir: Path, say: Say) -> None:
    if traffic.is_running:
        ledger = traffic.stop(data_dir, say)
        say(f"  ledger of what the apps sent and received: {ledger}")


def _announce(options: DemoOptions, login: AdminLogin, gateway_bootstrap: str, say: Say) -> None:
    url = f"http://127.0.0.1:{options.console_port}/"
    if login.password is None:
        how = "the password set when this data directory was created (--admin-password resets it)"
    elif login.is_generated:
        how = f"password {login.password} (generated; pass --admin-password to choose one)"
    else:
        how = "the password given with --admin-password"
    say(f"Chargeback console: {url}{_LIVE_COST_VIEW}")
    say(f"  Sign in as '{login.name}' with {how}.")
    say(
        "  It opens on what the demo's apps cost this week (cluster demo; at the example prices "
        "a few MB cost fractions of a cent, shown with their significant digits)."
    )
    say(f"  Bytes produced: {url}{_LIVE_BYTES_VIEWS['ingress']}")
    say(f"  Bytes consumed: {url}{_LIVE_BYTES_VIEWS['egress']}")
    if options.with_history:
        say(f"  A year of cost, with the synthetic history: {url}{_YEAR_VIEW}")
    say(f"  Metered Kafka bootstrap (the gateway): {gateway_bootstrap} (SASL_PLAINTEXT).")
    say(
        "  Your own clients log in as gateway users of the demo's store: "
        f"chargeback --db {store_url(options.data_dir)} gateway-users add NAME (then restart)."
    )
    say(f"  Data directory: {options.data_dir}")
    say(
        "  Live traffic shows on the page within about 10 seconds: ingress first, egress once "
        "the consumers have joined their groups (the gateway flushes every 2 s)."
    )
    say(
        "Press Ctrl-C to stop."
        if options.duration_seconds is None
        else f"Stopping by itself after {options.duration_seconds:g} s (or Ctrl-C)."
    )


def _wait(options: DemoOptions, traffic: Traffic, stop: threading.Event, say: Say) -> None:
    started = time.monotonic()
    end = None if options.duration_seconds is None else started + options.duration_seconds
    traffic_end = None if options.traffic_seconds is None else started + options.traffic_seconds
    while not stop.is_set():
        deadlines = [t for t in (end, traffic_end if traffic.is_running else None) if t is not None]
        if stop.wait(max(0.0, min(deadlines) - time.monotonic()) if deadlines else None):
            return
        if traffic_end is not None and traffic.is_running and time.monotonic() >= traffic_end:
            say("Stopping the client apps (the console stays up):")
            ledger = traffic.stop(options.data_dir, say)
            say(f"Client apps stopped; what they sent and received is in {ledger}.")
        if end is not None and time.monotonic() >= end:
            return


@contextmanager
def _stop_requested() -> Iterator[threading.Event]:
    """Turn SIGINT and SIGTERM into an event for the duration of the demo."""
    stop = threading.Event()

    def request_stop(signal_number: int, _frame: FrameType | None) -> None:
        _log.info("event=demo_stop_requested signal=%s", signal.Signals(signal_number).name)
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signal_number, handler in previous.items():
            signal.signal(signal_number, handler)
