"""Usage: what was metered, the vocabulary every other part shares. Imports only errors.

A `UsageRecord` says that in one time window, on one cluster, one service account moved so many
record bytes to or from one topic. Producers of usage (the gateway, the importer) hand batches of
records to a `UsageSink`; the store is the sink in production. A sink raises
`UsageRefusedError` for records it can never accept, anything else for a failure that may pass.
`read_usage_file` reads usage files (spec section 7) for the importer and `digest_usage_file`
names a file by its records; `synthetic_days` makes seeded synthetic usage for the benchmark and
the demo. `name_fault`, `MAX_BYTES` and `USAGE_ENDS_BEFORE_UTC` say what a record may hold, for
every writer.
"""

from chargeback.usage._files import (
    USAGE_FILE_FIELDS,
    UsageFileDigest,
    UsageFileError,
    digest_usage_file,
    read_usage_file,
)
from chargeback.usage._records import (
    MAX_BYTES,
    USAGE_ENDS_BEFORE_UTC,
    WINDOW_SECONDS,
    ClusterName,
    Direction,
    Principal,
    TopicName,
    UsageRecord,
    UsageRefusedError,
    UsageSink,
    name_fault,
    window_start,
)
from chargeback.usage._synthetic import SyntheticUsage, synthetic_day, synthetic_days

__all__ = [
    "MAX_BYTES",
    "USAGE_ENDS_BEFORE_UTC",
    "USAGE_FILE_FIELDS",
    "WINDOW_SECONDS",
    "ClusterName",
    "Direction",
    "Principal",
    "SyntheticUsage",
    "TopicName",
    "UsageFileDigest",
    "UsageFileError",
    "UsageRecord",
    "UsageRefusedError",
    "UsageSink",
    "digest_usage_file",
    "name_fault",
    "read_usage_file",
    "synthetic_day",
    "synthetic_days",
    "window_start",
]
