"""Dialect-aware bulk statements shared by the batch jobs (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

# Stay below SQLite's 32,766 bound parameters and asyncpg's 32,767 per statement.
MAX_PARAMS = 30_000
_EXECUTEMANY_ROWS = 50_000  # rows per execute call (bounds memory, not parameters)


def dialect_insert(session: AsyncSession, model: Any) -> Any:
    """An INSERT construct that knows ON CONFLICT for the session's dialect."""
    assert session.bind is not None
    if session.bind.dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def insert_ignore(
    session: AsyncSession,
    model: Any,
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str] | None,
) -> int:
    """INSERT … ON CONFLICT (cols) DO NOTHING (None: any conflict); returns how many rows were new.

    One statement compiled once and executed over the rows (SQLAlchemy's insertmanyvalues
    batches them on both dialects); RETURNING tells which rows were new. Rows share their keys.
    """
    if not rows:
        return 0
    table = table_of(model)
    stmt = dialect_insert(session, table).on_conflict_do_nothing(
        index_elements=list(conflict_columns) if conflict_columns else None
    )
    stmt = stmt.returning(*table.primary_key.columns)
    inserted = 0
    for start in range(0, len(rows), _EXECUTEMANY_ROWS):
        result = await session.execute(stmt, list(rows[start : start + _EXECUTEMANY_ROWS]))
        inserted += len(result.all())
    return inserted


def table_of(model: Any) -> Table:
    """A mapped class's Table (for Core UPDATE … executemany with bound parameters)."""
    return cast(Table, model.__table__)
