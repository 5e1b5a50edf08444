"""Dialect-aware bulk statements shared by the batch jobs (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

# Stay below SQLite's 32,766 bound parameters and asyncpg's 32,767 per statement.
MAX_PARAMS = 30_000


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
    conflict_columns: Sequence[str],
) -> int:
    """INSERT … ON CONFLICT (cols) DO NOTHING in chunks; returns how many rows were new."""
    if not rows:
        return 0
    per_row = max(1, len(rows[0]))
    size = max(1, MAX_PARAMS // per_row)
    inserted = 0
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        stmt = dialect_insert(session, model).values(list(chunk))
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict_columns))
        result = await session.execute(stmt)
        inserted += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    return inserted
