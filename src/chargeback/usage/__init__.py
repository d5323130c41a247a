"""Usage: what was metered, the vocabulary every other part shares. Imports only errors.

A `UsageRecord` says that in one time window, on one cluster, one service account moved so many
record bytes to or from one topic. Producers of usage (the gateway, the importer) hand batches of
records to a `UsageSink`; the store is the sink in production. `read_usage_file` reads usage
files (spec section 7) for the importer.
"""

from chargeback.usage._files import USAGE_FILE_FIELDS, UsageFileError, read_usage_file
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
    "USAGE_FILE_FIELDS",
    "WINDOW_SECONDS",
    "ClusterName",
    "Direction",
    "Principal",
    "TopicName",
    "UsageFileError",
    "UsageRecord",
    "UsageSink",
    "read_usage_file",
    "window_start",
]
