"""Usage: what was metered, the vocabulary every other part shares. Imports nothing of ours.

A `UsageRecord` says that in one time window, on one cluster, one service account moved so many
record bytes to or from one topic. Producers of usage (the gateway, the importer) hand batches of
records to a `UsageSink`; the store is the sink in production.
"""

from chargeback.usage._records import (
    WINDOW_SECONDS,
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageRecord,
    UsageSink,
    window_start,
)

__all__ = [
    "WINDOW_SECONDS",
    "ClusterName",
    "Direction",
    "Principal",
    "TopicName",
    "UsageRecord",
    "UsageSink",
    "window_start",
]
