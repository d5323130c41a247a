"""Initial schema: usage, batches, rollups, prices, settings, console users, tokens, SASL users.

Revision ID: r0001
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NO_ROWID = {"sqlite_with_rowid": False}


def upgrade() -> None:
    _create_usage_tables()
    _create_rollup_tables()
    _create_setting_tables()
    _create_account_tables()


def downgrade() -> None:
    for table in (
        "gateway_users",
        "api_tokens",
        "console_users",
        "settings",
        "price_settings",
        "usage_months",
        "usage_days",
        "rollup_zones",
        "usage_clusters",
        "usage_batches",
        "usage",
    ):
        op.drop_table(table)


def _create_usage_tables() -> None:
    op.create_table(
        "usage",
        sa.Column("cluster", sa.Text, primary_key=True),
        sa.Column("service_account", sa.Text, primary_key=True),
        sa.Column("topic", sa.Text, primary_key=True),
        sa.Column("direction", sa.Text, primary_key=True),
        sa.Column("window_start_utc_s", sa.BigInteger, primary_key=True),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        **_NO_ROWID,
    )
    op.create_table(
        "usage_batches",
        sa.Column("batch_id", sa.Text, primary_key=True),
        sa.Column("record_count", sa.BigInteger, nullable=False),
        sa.Column("written_at_utc", sa.DateTime, nullable=False),
    )
    op.create_table("usage_clusters", sa.Column("cluster", sa.Text, primary_key=True))


def _create_rollup_tables() -> None:
    op.create_table(
        "rollup_zones",
        sa.Column("zone", sa.Text, primary_key=True),
        sa.Column("materialized_at_utc", sa.DateTime, nullable=False),
    )
    # Bytes per local day (d01..d31 of a month) and per local month (m01..m12 of a year).
    for name, period, prefix, buckets in (
        ("usage_days", "month", "d", 31),
        ("usage_months", "year", "m", 12),
    ):
        op.create_table(
            name,
            sa.Column("zone", sa.Text, primary_key=True),
            sa.Column(period, sa.Integer, primary_key=True),
            sa.Column("cluster", sa.Text, primary_key=True),
            sa.Column("service_account", sa.Text, primary_key=True),
            sa.Column("direction", sa.Text, primary_key=True),
            *[
                sa.Column(f"{prefix}{n:02d}", sa.BigInteger, nullable=False)
                for n in range(1, buckets + 1)
            ],
            **_NO_ROWID,
        )


def _create_setting_tables() -> None:
    op.create_table(
        "price_settings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ingress_per_gb", sa.Text, nullable=False),
        sa.Column("egress_per_gb", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("gb_unit", sa.Text, nullable=False),
        sa.Column("updated_at_utc", sa.DateTime, nullable=False),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def _create_account_tables() -> None:
    op.create_table(
        "console_users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("created_at_utc", sa.DateTime, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column(
            "user_name",
            sa.Text,
            sa.ForeignKey("console_users.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at_utc", sa.DateTime, nullable=False),
    )
    op.create_table(
        "gateway_users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("mechanism", sa.Text, primary_key=True),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("iterations", sa.Integer, nullable=False),
        sa.Column("stored_key", sa.LargeBinary, nullable=False),
        sa.Column("server_key", sa.LargeBinary, nullable=False),
    )
