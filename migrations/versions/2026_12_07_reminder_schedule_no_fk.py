"""reminder_schedule: no foreign key on customer_id

Revision ID: 0004_reminder_schedule_no_fk
Revises: 0003_customers_hot_updates
Create Date: 2026-12-07

The schedule is a cache the reminder step rewrites (every row on a FULL run: one per customer
with purchases in the horizon), always from a join with customers. On PostgreSQL the foreign
key's check runs per inserted row and takes a KEY SHARE lock on the customer's row, which writes
to the customers table (and its WAL): on the benchmark's first run over a year of history the
INSERT of 559,000 schedule rows took 11–15 s with it and 6.0 s without. Customers are never
deleted, so the cascade never fired; a row without its customer would only be joined to nothing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_reminder_schedule_no_fk"
down_revision: str | None = "0003_customers_hot_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_schedule", schema=None) as batch_op:
        batch_op.drop_constraint("fk_reminder_schedule_customer_id_customers", type_="foreignkey")


def downgrade() -> None:
    # a schedule row of a customer who is gone would fail the constraint: such rows only ever
    # meant "look at this customer", so they go (the next run re-evaluates who is left)
    op.execute("DELETE FROM reminder_schedule WHERE customer_id NOT IN (SELECT id FROM customers)")
    with op.batch_alter_table("reminder_schedule", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_reminder_schedule_customer_id_customers",
            "customers",
            ["customer_id"],
            ["id"],
            ondelete="CASCADE",
        )
