"""Bulk SQL for imports and batch jobs: driver-level inserts, set membership in one parameter.

Both exist for speed on large inputs and work the same on SQLite and PostgreSQL: `among` sends
a whole list as one JSON (SQLite) or array (PostgreSQL) parameter instead of thousands of bound
parameters, and `bulk_insert` hands converted rows straight to the driver's executemany.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignore(session: AsyncSession, table: Table, *conflict_columns: str) -> Any:
    """INSERT … ON CONFLICT (columns) DO NOTHING for the session's database."""
    module = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def among(session: AsyncSession, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN (values)` with the values sent as one parameter, however many there are."""
    if session.bind.dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == func.any(array)  # type: ignore[no-any-return]
    listed = func.json_each(bindparam(None, json.dumps(list(values)))).table_valued("value")
    return column.in_(select(listed.c.value))  # type: ignore[no-any-return]


@asynccontextmanager
async def large_cache(session: AsyncSession, mebibytes: int = 128) -> AsyncIterator[None]:
    """On SQLite, a larger page cache for the block (bulk index inserts stay in memory)."""
    if session.bind.dialect.name != "sqlite":
        yield
        return
    before = (await session.execute(text("PRAGMA cache_size"))).scalar_one()
    await session.execute(text(f"PRAGMA cache_size = {-1024 * int(mebibytes)}"))
    try:
        yield
    finally:
        await session.execute(text(f"PRAGMA cache_size = {int(before)}"))


class DriverValues:
    """Python values as the database driver takes them, for `bulk_insert`.

    asyncpg takes Decimal, date and aware datetime as they are. SQLite stores what SQLAlchemy's
    own types would store: a float for a Numeric, ISO text for a Date, and naive UTC text with
    microseconds for a UTCDateTime (the format SQLAlchemy reads back).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.native = session.bind.dialect.name == "postgresql"

    def decimal(self, value: Decimal | None) -> Any:
        if value is None or self.native:
            return value
        return float(value)

    def day(self, value: date | None) -> Any:
        if value is None or self.native:
            return value
        return value.isoformat()

    def instant(self, value: datetime | None) -> Any:
        if value is None or self.native:
            return value
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: instants must be aware")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


async def bulk_insert(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT many rows through the driver's executemany, skipping per-value type processing.

    The fast path for imports: a plain SQLAlchemy executemany spends most of its time in
    per-value bind processors, so callers pass values already converted with `DriverValues`.
    """
    if not rows:
        return
    dialect = session.bind.dialect
    sql = str(insert(table).compile(dialect=dialect, column_keys=list(columns)))
    connection = await session.connection()
    await connection.exec_driver_sql(sql, rows)
