"""Bulk SQL for imports and batch jobs: driver-level inserts, set membership in one parameter.

Both exist for speed on large inputs and work the same on SQLite and PostgreSQL: `among` sends
a whole list as one JSON (SQLite) or array (PostgreSQL) parameter instead of thousands of bound
parameters, and `bulk_insert` hands converted rows straight to the driver's executemany.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Numeric,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import UTCDateTime
from core.driver_values import DriverValues

__all__ = ["DriverValues", "among", "bulk_insert", "dialect_name", "insert_ignore", "large_cache"]


def dialect_name(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql": the database the session is bound to."""
    return session.get_bind().dialect.name


def insert_ignore(session: AsyncSession, table: Table, *conflict_columns: str) -> Any:
    """INSERT … ON CONFLICT (columns) DO NOTHING for the session's database."""
    module = postgresql if dialect_name(session) == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def among(session: AsyncSession, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN (values)` with the values sent as one parameter, however many there are."""
    if dialect_name(session) == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == func.any(array)  # type: ignore[no-any-return]
    listed = func.json_each(bindparam(None, json.dumps(list(values)))).table_valued("value")
    return column.in_(select(listed.c.value))  # type: ignore[no-any-return]


@asynccontextmanager
async def large_cache(session: AsyncSession, mebibytes: int = 128) -> AsyncIterator[None]:
    """On SQLite, a larger page cache for the block (bulk index inserts stay in memory)."""
    if dialect_name(session) != "sqlite":
        yield
        return
    before = (await session.execute(text("PRAGMA cache_size"))).scalar_one()
    await session.execute(text(f"PRAGMA cache_size = {-1024 * int(mebibytes)}"))
    try:
        yield
    finally:
        await session.execute(text(f"PRAGMA cache_size = {int(before)}"))


async def bulk_insert(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    skip_conflicts_on: str | None = None,
    shift: dict[str, int] | None = None,
) -> None:
    """INSERT many rows through the driver's executemany, skipping per-value type processing.

    The fast path for imports: a plain SQLAlchemy executemany spends most of its time in
    per-value bind processors, so callers pass values already converted with `DriverValues`.
    With `skip_conflicts_on`, a row that collides on that unique column is left out. `shift`
    adds a constant to a column's values in SQL (child rows that number their parents from 0
    get the parents' ids without being rebuilt one by one in Python).
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    statement = (
        insert_ignore(session, table, skip_conflicts_on) if skip_conflicts_on else insert(table)
    )
    if shift:
        statement = statement.values({
            table.c[name]: bindparam(name, type_=table.c[name].type) + literal_column(str(int(by)))
            for name, by in shift.items()
        })  # fmt: skip
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    # the statement lists columns in table order (plus any with a Python-side default): put
    # each row's values in the order of its placeholders, and refuse to leave one unbound
    order = list(compiled.positiontup or ())
    if sorted(order) != sorted(columns):
        missing = sorted(set(order) - set(columns))
        raise ValueError(f"bulk insert into {table.name}: no values for {', '.join(missing)}")
    if order != list(columns):
        pick = itemgetter(*(list(columns).index(name) for name in order))
        rows = [pick(row) for row in rows]
    connection = await session.connection()
    await connection.exec_driver_sql(str(compiled), rows)


async def insert_dicts(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    skip_conflicts_on: str | None = None,
) -> None:
    """`bulk_insert` of rows given as dicts (same keys), filling the columns' scalar defaults."""
    if not rows:
        return
    given = list(rows[0])
    defaults = {
        c.name: cast(Any, c.default).arg
        for c in table.columns
        if c.name not in given and c.default is not None and c.default.is_scalar
    }
    columns = given + list(defaults)
    dv = DriverValues.of(session)
    convert = [_converter(dv, table.columns[name].type) for name in columns]
    fixed = tuple(defaults.values())
    tuples = []
    for row in rows:
        values = tuple(row[name] for name in given) + fixed
        tuples.append(tuple(v if f is None else f(v) for f, v in zip(convert, values, strict=True)))
    await bulk_insert(session, table, columns, tuples, skip_conflicts_on=skip_conflicts_on)


def _converter(dv: DriverValues, column_type: Any) -> Any:
    if isinstance(column_type, UTCDateTime):
        return dv.instant
    if isinstance(column_type, Date):
        return dv.day
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float):
        return dv.decimal
    if isinstance(column_type, DateTime | JSON):
        raise TypeError(f"insert_dicts does not convert {column_type!r}")
    return None
