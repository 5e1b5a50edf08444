"""Engine, sessions, the declarative base with its naming convention, and the UTC column type."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from core import sqlite_driver
from core.clock import system_clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# An autoincrementing 64-bit key on PostgreSQL that is still SQLite's ROWID alias.
BigId = BigInteger().with_variant(Integer, "sqlite")
# JSON documents: JSONB on PostgreSQL, JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")

Session = AsyncSession
SessionFactory = async_sessionmaker[AsyncSession]


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC and always read back aware (SQLite drops zones silently)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: instants must be aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL; we emit BEGIN.
    # A transaction that reads and then writes must take the write lock first (IMMEDIATE): WAL
    # refuses to upgrade a read snapshot another writer has moved past (SQLITE_BUSY_SNAPSHOT,
    # "database is locked", without waiting for busy_timeout).
    options = conn.get_execution_options()
    # Foreign-key enforcement can only change between transactions: it is set here, before
    # BEGIN, whenever this transaction wants it otherwise than the connection's last one did,
    # so a pooled connection never carries a bulk load's setting into the next transaction.
    checks = options.get("sqlite_foreign_keys", True)
    info = conn.connection.info
    if info.get("foreign_keys", True) != checks:
        conn.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if checks else 'OFF'}")
        info["foreign_keys"] = checks
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_immediate", False) else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for a URL, with SQLite pragmas (WAL, foreign keys) applied per connection."""
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        if engine.dialect.driver == "aiosqlite":
            sqlite_driver.install(engine)  # one thread hop per statement instead of four
    return engine


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends cleanly, rolled back otherwise."""
    async with factory() as session, session.begin():
        yield session


_WRITE_LOCKS: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def write_unit_of_work(
    factory: SessionFactory, *, foreign_keys: bool = True
) -> AsyncIterator[AsyncSession]:
    """A unit of work that reads then writes under concurrency.

    SQLite has one writer: such transactions queue on an in-process lock (instead of spinning in
    SQLite's busy handler) and take the write lock up front (BEGIN IMMEDIATE). PostgreSQL: as
    `unit_of_work`. `foreign_keys=False` (SQLite only) runs the transaction without SQLite's
    per-row foreign-key checks: for a bulk load whose every reference is sound by construction
    (see `core.ingest.files.load_orders`); `foreign_keys_enforced` tells which it is.
    """
    bind = factory.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        async with unit_of_work(factory) as session:
            yield session
        return
    lock = _WRITE_LOCKS.setdefault(bind.sync_engine, asyncio.Lock())
    async with lock, factory() as session, session.begin():
        options = {"sqlite_immediate": True, "sqlite_foreign_keys": foreign_keys}
        await session.connection(execution_options=options)
        yield session


async def foreign_keys_enforced(session: AsyncSession) -> bool:
    """Whether the session's transaction checks foreign keys (always, on PostgreSQL)."""
    if session.get_bind().dialect.name != "sqlite":
        return True
    return bool((await session.execute(text("PRAGMA foreign_keys"))).scalar_one())


def is_postgres(session_or_engine: AsyncSession | AsyncEngine) -> bool:
    """Whether the bound database is PostgreSQL (for the few dialect-specific statements)."""
    if isinstance(session_or_engine, AsyncSession):
        return session_or_engine.get_bind().dialect.name == "postgresql"
    return session_or_engine.dialect.name == "postgresql"


def utcnow() -> datetime:
    """Column default for created/updated instants (evaluated per row, never at import)."""
    return system_clock()
