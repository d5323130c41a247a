"""The tables, as SQLAlchemy Core sees them. Alembic's revisions create them; keep both in step.

Times of usage are integer seconds since the Unix epoch (UTC) and local months are
`year * 12 + month - 1`: integers compare, group and convert the same way on SQLite and
PostgreSQL, and reports convert them without parsing text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime, stored naive in UTC (SQLite has no time zones)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


metadata = sa.MetaData()
_KEEP_ROWS_IN_KEY_ORDER: dict[str, Any] = {"sqlite_with_rowid": False}

usage = sa.Table(
    "usage",
    metadata,
    sa.Column("cluster", sa.Text, primary_key=True),
    sa.Column("service_account", sa.Text, primary_key=True),
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("direction", sa.Text, primary_key=True),
    sa.Column("window_start_utc_s", sa.BigInteger, primary_key=True),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    **_KEEP_ROWS_IN_KEY_ORDER,
)

usage_batches = sa.Table(
    "usage_batches",
    metadata,
    sa.Column("batch_id", sa.Text, primary_key=True),
    sa.Column("record_count", sa.BigInteger, nullable=False),
    sa.Column("written_at_utc", UtcDateTime, nullable=False),
)

usage_clusters = sa.Table(
    "usage_clusters",
    metadata,
    sa.Column("cluster", sa.Text, primary_key=True),
)

rollup_zones = sa.Table(
    "rollup_zones",
    metadata,
    sa.Column("zone", sa.Text, primary_key=True),
    sa.Column("materialized_at_utc", UtcDateTime, nullable=False),
)

# One column per day of a month, per month of a year: a report of 2,000 accounts over 30 days
# reads ~8,000 rows of these instead of ~120,000 narrow (account, day) rows.
DAY_COLUMNS = [f"d{day:02d}" for day in range(1, 32)]
MONTH_COLUMNS = [f"m{month:02d}" for month in range(1, 13)]


def _rollup_table(name: str, period: str, bucket_columns: list[str]) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("zone", sa.Text, primary_key=True),
        sa.Column(period, sa.Integer, primary_key=True),
        sa.Column("cluster", sa.Text, primary_key=True),
        sa.Column("service_account", sa.Text, primary_key=True),
        sa.Column("direction", sa.Text, primary_key=True),
        *[sa.Column(name, sa.BigInteger, nullable=False) for name in bucket_columns],
        **_KEEP_ROWS_IN_KEY_ORDER,
    )


# Bytes per local day: one row per (zone, month, cluster, account, direction), `month` being
# `year * 12 + month - 1` and d01..d31 the days of that month (zero past its end).
usage_days = _rollup_table("usage_days", "month", DAY_COLUMNS)
# Bytes per local month: one row per (zone, year, cluster, account, direction), m01..m12.
usage_months = _rollup_table("usage_months", "year", MONTH_COLUMNS)

price_settings = sa.Table(
    "price_settings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ingress_per_gb", sa.Text, nullable=False),
    sa.Column("egress_per_gb", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("gb_unit", sa.Text, nullable=False),
    sa.Column("updated_at_utc", UtcDateTime, nullable=False),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("created_at_utc", UtcDateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column(
        "user_name",
        sa.Text,
        sa.ForeignKey("console_users.name", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at_utc", UtcDateTime, nullable=False),
)

gateway_users = sa.Table(
    "gateway_users",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("mechanism", sa.Text, primary_key=True),
    sa.Column("salt", sa.LargeBinary, nullable=False),
    sa.Column("iterations", sa.Integer, nullable=False),
    sa.Column("stored_key", sa.LargeBinary, nullable=False),
    sa.Column("server_key", sa.LargeBinary, nullable=False),
)
