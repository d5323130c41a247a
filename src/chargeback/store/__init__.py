"""Store: where usage, prices and users live. SQLAlchemy Core tables, the engine, reads and
writes, Alembic migrations. All SQL lives here. Imports usage, pricing and errors.

`open_store(url)` opens (and creates, and migrates) a SQLite file or a PostgreSQL database.
Usage is kept per (cluster, service account, topic, direction, 15-minute UTC window); per-zone
local-day and local-month rollups, kept in step with it by every write, answer reports.
"""

from chargeback.store._errors import RecordError, RecordsRefusedError, StoreError
from chargeback.store._rollups import UsageGrid
from chargeback.store._rows import ApiTokenRow, GatewayUserRow, ImportResult, UsageTotal, UserRow
from chargeback.store._store import ImportPhase, Store, open_store

__all__ = [
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
    "open_store",
]
