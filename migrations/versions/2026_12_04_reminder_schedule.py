"""reminder schedule: when the reminder step next looks at each customer

Revision ID: 0002_reminder_schedule
Revises: 0001_initial
Create Date: 2026-12-04

No backfill: without the meta row the first reminder run evaluates every customer and fills it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0002_reminder_schedule"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_schedule",
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("next_check", sa.Date(), nullable=True),
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("marketing_consent", sa.Boolean(), nullable=False),
        sa.Column("phone_valid", sa.Boolean(), nullable=False),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_reminder_schedule_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_reminder_schedule")),
    )
    with op.batch_alter_table("reminder_schedule", schema=None) as batch_op:
        batch_op.create_index("ix_reminder_schedule_next_check", ["next_check"], unique=False)
    op.create_table(
        "reminder_schedule_meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("orders_seen_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_schedule_meta")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_updated_at")
    op.drop_table("reminder_schedule_meta")
    with op.batch_alter_table("reminder_schedule", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_schedule_next_check")
    op.drop_table("reminder_schedule")
