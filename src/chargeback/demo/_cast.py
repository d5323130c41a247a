"""Who plays in the demo: the topics and the client applications, one service account each.

Every app logs in with SASL (the gateway checks the password); the mechanisms are mixed on
purpose, so that the demo shows PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 clients side by side.
"""

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
        "orders-service",
        "orders",
        messages_per_second=80,
        value_bytes=500,
        linger_ms=100,
        sasl_mechanism="SCRAM-SHA-512",
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
        sasl_mechanism="PLAIN",
    ),
)

CONSUMERS = (
    # Two consumer groups read the same topic: each pays for its own copy of the data.
    ConsumerPlan("billing-consumers", "billing", ("orders",), sasl_mechanism="SCRAM-SHA-256"),
    ConsumerPlan(
        "analytics-consumers",
        "analytics",
        ("orders", "audit-log"),
        sasl_mechanism="SCRAM-SHA-512",
    ),
    # A batch job that falls behind: it rests between polls and fetches in small portions.
    ConsumerPlan(
        "reporting-batch",
        "reporting",
        ("orders",),
        pause_seconds=2.0,
        messages_per_poll=60,
        queue_kbytes=32,
        sasl_mechanism="PLAIN",
    ),
)


def sasl_mechanisms() -> dict[str, str]:
    """Each app's service account and the SASL mechanism it logs in with."""
    return {plan.service_account: plan.sasl_mechanism for plan in (*PRODUCERS, *CONSUMERS)}
