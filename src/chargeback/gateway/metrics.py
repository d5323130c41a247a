"""The gateway's Prometheus metrics, in a registry of its own (one per gateway instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class GatewayMetrics:
    """Every metric the gateway exports; names start with `chargeback_gateway_`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections_open = Gauge(
            "chargeback_gateway_connections_open", "Client connections open now.", registry=r
        )
        self.connections = Counter(
            "chargeback_gateway_connections", "Client connections accepted.", registry=r
        )
        self.requests = Counter(
            "chargeback_gateway_requests",
            "Requests forwarded, by API.",
            ["api"],
            registry=r,
        )
        self.metered_bytes = Counter(
            "chargeback_gateway_metered_bytes",
            "Record bytes metered, by direction (ingress, egress).",
            ["direction"],
            registry=r,
        )
        self.unmetered_frames = Counter(
            "chargeback_gateway_unmetered_frames",
            "Frames passed through without metering because the gateway cannot read them "
            "(a version newer than it knows). Alert on any increase.",
            ["api", "version"],
            registry=r,
        )
        self.errors = Counter(
            "chargeback_gateway_errors",
            "Errors by kind; all but listen and streamed_*_changed close their connection.",
            ["kind"],
            registry=r,
        )
        self.flushes = Counter(
            "chargeback_gateway_flushes", "Usage batches written to the store.", registry=r
        )
        self.flush_failures = Counter(
            "chargeback_gateway_flush_failures",
            "Failed attempts to write a usage batch (retried with the same batch id).",
            registry=r,
        )
        self.quarantined_records = Counter(
            "chargeback_gateway_quarantined_records",
            "Usage records the store refused for good (logged as event=usage_quarantined, "
            "not stored). Alert on any increase.",
            registry=r,
        )
        self.quarantined_bytes = Counter(
            "chargeback_gateway_quarantined_bytes",
            "Metered bytes of the quarantined usage records.",
            registry=r,
        )
        self.last_flush_timestamp = Gauge(
            "chargeback_gateway_last_flush_timestamp_seconds",
            "Unix time of the last successful flush (0: none yet).",
            registry=r,
        )
        self.unflushed_bytes = Gauge(
            "chargeback_gateway_unflushed_bytes",
            "Metered bytes held in memory, not yet in the store (computed when scraped).",
            registry=r,
        )
        self.flush_lag = Gauge(
            "chargeback_gateway_flush_lag_seconds",
            "Seconds since the last successful flush (or since start), computed when scraped.",
            registry=r,
        )
