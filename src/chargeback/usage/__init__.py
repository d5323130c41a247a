"""Usage: what was metered, the vocabulary every other part shares. Imports only errors.

A `UsageRecord` says that in one time window, on one cluster, one service account moved so many
record bytes to or from one topic. Producers of usage (the gateway, the importer) hand batches of
records to a `UsageSink`; the store is the sink in production. A sink raises
`UsageRefusedError` for records it can never accept, anything else for a failure that may pass.
`read_usage_file` reads usage files (spec section 7) for the importer; `synthetic_days` makes
seeded synthetic usage for the benchmark and the demo.
"""

from chargeback.usage._files import USAGE_FILE_FIELDS, UsageFileError, read_usage_file
from chargeback.usage._records import (
    WINDOW_SECONDS,
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageRecord,
    UsageRefusedError,
    UsageSink,
    window_start,
)
from chargeback.usage._synthetic import SyntheticUsage, synthetic_day, synthetic_days

__all__ = [
    "USAGE_FILE_FIELDS",
    "WINDOW_SECONDS",
    "ClusterName",
    "Direction",
    "Principal",
    "SyntheticUsage",
    "TopicName",
    "UsageFileError",
    "UsageRecord",
    "UsageRefusedError",
    "UsageSink",
    "read_usage_file",
    "synthetic_day",
    "synthetic_days",
    "window_start",
]
