"""Store: where usage, prices and users live. SQLAlchemy Core tables, the engine, reads and
writes, Alembic migrations. All SQL lives here. Imports usage, pricing and errors.

`open_store(url)` opens (and creates, and migrates) a SQLite file or a PostgreSQL database.
Usage is kept per (cluster, service account, topic, direction, 15-minute UTC window); per-zone
local-day and local-month rollups, kept in step with it by every write, answer reports.
`zone_names()` lists the time zones reports may use; reports build rollups for at most
`max_report_zones` of them (`ZoneLimitError`).
"""

from chargeback.store._errors import (
    RecordError,
    RecordsRefusedError,
    StoreError,
    ZoneLimitError,
)
from chargeback.store._rollups import UsageGrid
from chargeback.store._rows import ApiTokenRow, GatewayUserRow, ImportResult, UsageTotal, UserRow
from chargeback.store._store import DEFAULT_MAX_REPORT_ZONES, ImportPhase, Store, open_store
from chargeback.store._zones import zone_fault, zone_names

__all__ = [
    "DEFAULT_MAX_REPORT_ZONES",
    "ApiTokenRow",
    "GatewayUserRow",
    "ImportPhase",
    "ImportResult",
    "RecordError",
    "RecordsRefusedError",
    "Store",
    "StoreError",
    "UsageGrid",
    "UsageTotal",
    "UserRow",
    "ZoneLimitError",
    "open_store",
    "zone_fault",
    "zone_names",
]
