"""customers: segment changes and tier upgrades rewrite rows in place (HOT on PostgreSQL)

Revision ID: 0003_customers_hot_updates
Revises: 0002_reminder_schedule
Create Date: 2026-12-06

The segmentation and membership steps UPDATE many customers at once (every customer on a shop's
first run over its history). On PostgreSQL an UPDATE can stay on the row's page without new index
entries (a heap-only tuple) only when no indexed column changes and the page has room:
- `ix_customers_segment` (lifecycle_stage, priority_level) goes: every segment change had to add
  an entry to all six indexes for it, and a filter on a handful of stage values reads a large
  share of the table anyway (the campaign and CDM filters scan customers);
- PostgreSQL: `fillfactor = 50`, so pages filled by inserts keep room for a new version of their
  rows (the import's VACUUM frees the room its figures update used). Existing pages keep their
  layout until they are rewritten; new shops get it from their first import.
SQLite has no fillfactor; it loses the index's upkeep on each segment change.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_customers_hot_updates"
down_revision: str | None = "0002_reminder_schedule"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_segment")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE customers SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE customers RESET (fillfactor)")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_segment", ["lifecycle_stage", "priority_level"], unique=False
        )
