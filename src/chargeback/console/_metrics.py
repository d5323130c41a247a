"""Prometheus metrics of one console app, in a registry of its own (several apps per process
in tests and the demo must not share counters).
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ConsoleMetrics:
    """Requests by handler, method and status; their durations; failed sign-ins."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "chargeback_console_requests",
            "HTTP requests answered, by handler (route name), method and status.",
            ["handler", "method", "status"],
            registry=self.registry,
        )
        self.duration_seconds = Histogram(
            "chargeback_console_request_duration_seconds",
            "Time to answer HTTP requests, by handler (route name).",
            ["handler"],
            registry=self.registry,
        )
        self.failed_logins = Counter(
            "chargeback_console_failed_logins",
            "Sign-ins refused for a wrong user name or password.",
            registry=self.registry,
        )


class MetricsMiddleware:
    """Counts every HTTP request under the name of its route (never its raw path: no user
    input becomes a label value)."""

    def __init__(self, app: ASGIApp, metrics: ConsoleMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_and_note)
        finally:
            handler = _handler_name(scope)
            self._metrics.requests.labels(handler, scope["method"], str(status)).inc()
            self._metrics.duration_seconds.labels(handler).observe(time.perf_counter() - started)


def _handler_name(scope: Scope) -> str:
    """The name of the route that answered (its function's name, or "static"), never user input.

    Names, not path templates: FastAPI keeps routers nested, so a route in scope does not know
    its full path; its name is unique in this app.
    """
    route = scope.get("route")
    name = getattr(route, "name", None) if isinstance(route, BaseRoute) else None
    return name if isinstance(name, str) else "unmatched"
