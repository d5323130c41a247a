"""Who plays in the demo: the topics and the client applications, one service account each."""

from __future__ import annotations

from dataclasses import dataclass

from chargeback.demo._apps import ConsumerPlan, ProducerPlan

DEMO_CLUSTER = "demo"


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """A topic the demo creates on the broker before the apps start."""

    name: str
    partitions: int


TOPICS = (TopicPlan("orders", 3), TopicPlan("audit-log", 1))

PRODUCERS = (
    # A busy service writing order events (about 560 bytes each, incompressible).
    ProducerPlan(
        "orders-service", "orders", messages_per_second=80, value_bytes=500, linger_ms=100
    ),
    # A small, chatty logger whose repetitive lines compress well with zstd: it pays for what the
    # broker stores, the compressed batches.
    ProducerPlan(
        "audit-logger",
        "audit-log",
        messages_per_second=20,
        value_bytes=2000,
        compression="zstd",
        is_compressible=True,
        linger_ms=200,
    ),
)

CONSUMERS = (
    # Two consumer groups read the same topic: each pays for its own copy of the data.
    ConsumerPlan("billing-consumers", "billing", ("orders",)),
    ConsumerPlan("analytics-consumers", "analytics", ("orders", "audit-log")),
    # A batch job that falls behind: it rests between polls and fetches in small portions.
    ConsumerPlan(
        "reporting-batch",
        "reporting",
        ("orders",),
        pause_seconds=2.0,
        messages_per_poll=60,
        queue_kbytes=32,
    ),
)
