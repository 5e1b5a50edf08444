"""Dialect-aware bulk statements shared by the batch jobs (SQLite and PostgreSQL alike).

`insert_ignore` is the writer behind tasks, messages, coupons and the cadence's logs. It never
asks for RETURNING (SQLAlchemy would then render and process every row twice): on SQLite the
rows go through the driver's executemany, whose rowcount sums the rows that landed; on
PostgreSQL each chunk is ONE `INSERT … SELECT … FROM unnest(col1[], col2[], …)`, one round trip
with one array parameter per column, whose rowcount is the rows that landed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    Numeric,
    Table,
    Text,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from core.db import UTCDateTime

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

    Rows share their keys. Columns left out get their Python-side default (a callable default
    such as `utcnow` is evaluated once per call) or the server's.
    """
    if not rows:
        return 0
    table = table_of(model)
    stmt = dialect_insert(session, table).on_conflict_do_nothing(
        index_elements=list(conflict_columns) if conflict_columns else None
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    inserted = 0
    for start in range(0, len(rows), _EXECUTEMANY_ROWS):
        chunk = rows[start : start + _EXECUTEMANY_ROWS]
        if postgres:
            result = await session.execute(_from_unnest(stmt, table, chunk))
        else:
            result = await _executemany(session, stmt, table, chunk)
        inserted += max(cast(Any, result).rowcount or 0, 0)
    return inserted


async def _executemany(
    session: AsyncSession, stmt: Any, table: Table, rows: Sequence[dict[str, Any]]
) -> Any:
    """SQLite: the driver's executemany over values converted here (SQLAlchemy's per-value
    bind processing costs more than the insert itself)."""
    given = list(rows[0])
    defaults = _python_defaults(table, given)
    names = given + list(defaults)
    compiled = stmt.compile(dialect=session.get_bind().dialect, column_keys=names)
    order = list(compiled.positiontup or ())
    if sorted(order) != sorted(names):  # e.g. a column default that is a SQL expression
        return await session.execute(stmt, list(rows))
    columns = []  # column by column: one comprehension per column, not a generator per row
    for name in order:
        convert = _sqlite_value(table.c[name].type)
        if name in defaults:
            value = defaults[name] if convert is None else convert(defaults[name])
            columns.append([value] * len(rows))
        elif convert is None:
            columns.append([row[name] for row in rows])
        else:
            columns.append([convert(row[name]) for row in rows])
    tuples = list(zip(*columns, strict=True))
    connection = await session.connection()
    return await connection.exec_driver_sql(str(compiled), tuples)


def _sqlite_value(column_type: Any) -> Any:
    """How SQLite stores a Python value of this column type, as SQLAlchemy's types store it."""
    if isinstance(column_type, JSON):
        return lambda v: None if v is None and column_type.none_as_null else json.dumps(v)
    if isinstance(column_type, UTCDateTime):
        return lambda v: None if v is None else _utc_text(v)
    if isinstance(column_type, DateTime):
        return lambda v: None if v is None else v.isoformat(" ", "microseconds")
    if isinstance(column_type, Date):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float):
        return lambda v: None if v is None else float(v)
    return None  # stored as given


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: instants must be aware")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _from_unnest(stmt: Any, table: Table, rows: Sequence[dict[str, Any]]) -> Any:
    """`stmt` (an INSERT with its ON CONFLICT) fed by one unnest over per-column arrays."""
    given = list(rows[0])
    defaults = _python_defaults(table, given)
    columns = {name: [row[name] for row in rows] for name in given}
    columns.update((name, [value] * len(rows)) for name, value in defaults.items())
    return from_columns(stmt, table, columns)


def from_columns(stmt: Any, table: Table, columns: dict[str, list[Any]]) -> Any:
    """PostgreSQL: `stmt` (an INSERT, with its ON CONFLICT if any) fed by one unnest over the
    given per-column value lists (of equal length): one statement and one array parameter per
    column however many rows, no Python work per row."""
    names = list(columns)
    params = [_array(table, name, values) for name, values in columns.items()]
    unnested = func.unnest(*params).table_valued(*names).render_derived(name="given")
    picked: list[ColumnElement[Any]] = []
    for name in names:
        column: ColumnElement[Any] = unnested.c[name]
        if isinstance(table.c[name].type, JSON):
            column = sql_cast(column, postgresql.JSONB)  # sent as text (see _array)
        picked.append(column)
    return stmt.from_select(names, select(*picked))


def _array(table: Table, name: str, values: list[Any]) -> Any:
    """One column's values as a typed array parameter (JSON goes as text, cast back in SQL)."""
    column_type = table.c[name].type
    if isinstance(column_type, JSON):
        item: Any = Text()
        keep_null = column_type.none_as_null  # else None is JSON null, as SQLAlchemy writes it
        values = [None if v is None and keep_null else json.dumps(v) for v in values]
    else:
        item = column_type
    array_type = postgresql.ARRAY(item)
    return sql_cast(bindparam(None, values, type_=array_type), array_type)


def _python_defaults(table: Table, given: Sequence[str]) -> dict[str, Any]:
    """Values of the Python-side defaults of the columns not given (evaluated once)."""
    out: dict[str, Any] = {}
    for column in table.columns:
        default = cast(Any, column.default)
        if column.name in given or default is None:
            continue
        if default.is_scalar:
            out[column.name] = default.arg
        elif default.is_callable:
            out[column.name] = default.arg(None)
    return out


@asynccontextmanager
async def scratch_table(session: AsyncSession, table: Table) -> AsyncIterator[Table]:
    """A TEMPORARY table (declared with `prefixes=["TEMPORARY"]`) for the block, in the caller's
    transaction: created empty, dropped at the end (a rollback drops it too)."""
    await session.execute(DropTable(table, if_exists=True))
    await session.execute(CreateTable(table))
    try:
        yield table
    finally:
        await session.execute(DropTable(table))


async def analyze_scratch(session: AsyncSession, table: Table) -> None:
    """PostgreSQL: statistics for a filled scratch table (autovacuum never sees temporary ones)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"ANALYZE {table.name}"))


def table_of(model: Any) -> Table:
    """A mapped class's Table (for Core UPDATE … executemany with bound parameters)."""
    return cast(Table, model.__table__)


def unindexed(session: AsyncSession, column: Any) -> Any:
    """The column, kept from driving an index on SQLite (unary `+`, a no-op on any value).

    For a date range most of a table passes: SQLite would walk the date index and look up
    nearly every row, where a join from the other side seeks a covering index."""
    assert session.bind is not None
    if session.bind.dialect.name != "sqlite":
        return column
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)
