"""aiosqlite with one thread hop per statement.

aiosqlite runs each sqlite3 call on the connection's own thread and SQLAlchemy's adapter makes
four such calls per statement (open a cursor, execute, fetch, close). Every call is a round trip
through the event loop and a GIL hand-off, which under load costs far more than SQLite itself.
Here a cursor runs the statement, fetches its rows and closes in one call on that thread and
then serves description, rowcount and rows from memory (a result over CHUNK rows streams on in
chunks, so server-side cursors stay bounded). BEGIN rides along with the next statement, and
ending a transaction that is not open costs nothing. `install(engine)` makes an engine's
new connections use it; nothing else changes (same adapter, same SQL, same transactions).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_BEGINS = frozenset({"BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})
CHUNK = 1024  # rows fetched with the statement; a longer result streams in chunks after it
_Result = tuple[Any, list[Any], int, "int | None", "sqlite3.Cursor | None"]


class OneHopCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy's adapter uses, one hop per statement."""

    arraysize = 1

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self._open: sqlite3.Cursor | None = None  # a result longer than CHUNK, still reading
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _run(self, many: bool, sql: str, parameters: Any) -> _Result:
        """On the connection's thread: execute, fetch the first CHUNK rows, close when done."""
        connection = self._connection
        cursor = connection._conn.cursor()
        try:
            if connection._pending_begin is not None:  # the transaction starts with this
                begin, connection._pending_begin = connection._pending_begin, None
                cursor.execute(begin)
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            rows = cursor.fetchmany(CHUNK) if cursor.description else []
        except BaseException:
            cursor.close()
            raise
        if len(rows) < CHUNK:
            cursor.close()
            return cursor.description, rows, cursor.rowcount, cursor.lastrowid, None
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid, cursor

    async def _call(self, many: bool, sql: str, parameters: Any) -> OneHopCursor:
        await self.close()
        result: _Result = await self._connection._execute(self._run, many, sql, parameters)
        self.description, rows, self.rowcount, self.lastrowid, self._open = result
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Any = None) -> OneHopCursor:
        """Run one statement and keep its rows (a BEGIN waits for the next statement)."""
        if not parameters and sql.strip().upper() in _BEGINS:
            await self.close()
            self._connection._pending_begin = sql
            self.description, self.rowcount, self.lastrowid = None, -1, None
            return self
        return await self._call(False, sql, () if parameters is None else parameters)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneHopCursor:
        """Run one statement for each set of parameters."""
        return await self._call(True, sql, parameters)

    def _more(self, cursor: sqlite3.Cursor, size: int | None) -> tuple[list[Any], int, bool]:
        rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
        done = size is None or len(rows) < size
        if done:
            cursor.close()
        return rows, cursor.rowcount, done

    async def _fill(self, size: int | None) -> None:
        """Read more of a long result (all of it when size is None)."""
        cursor = self._open
        if cursor is None:
            return
        rows, self.rowcount, done = await self._connection._execute(self._more, cursor, size)
        self._rows.extend(rows)
        if done:
            self._open = None

    async def fetchone(self) -> Any:
        if not self._rows:
            await self._fill(CHUNK)
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = size or self.arraysize
        if len(self._rows) < n:
            await self._fill(max(n, CHUNK))
        return [self._rows.popleft() for _ in range(min(n, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        await self._fill(None)
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()
        cursor, self._open = self._open, None
        if cursor is not None:
            await self._connection._execute(cursor.close)

    async def __aiter__(self) -> AsyncIterator[Any]:
        while (row := await self.fetchone()) is not None:
            yield row


class OneHopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors cost one thread hop per statement.

    BEGIN travels with the transaction's first statement, and COMMIT or ROLLBACK with no
    transaction open (nothing ran, or the pool resetting a connection that already committed)
    costs no hop at all. Calls on one connection are sequential (SQLAlchemy awaits each), so
    reading `in_transaction` here never races the connection's thread.
    """

    _pending_begin: str | None = None

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        """A cursor (no hop: the sqlite3 cursor is made inside each execute)."""
        return OneHopCursor(self)

    def _idle(self) -> bool:
        """No transaction to end: a BEGIN that never ran, or none at all."""
        if self._pending_begin is not None:
            self._pending_begin = None
            return True
        return not self._conn.in_transaction

    async def commit(self) -> None:
        """Commit the transaction, if one is open."""
        if not self._idle():
            await super().commit()

    async def rollback(self) -> None:
        """Roll the transaction back, if one is open."""
        if not self._idle():
            await super().rollback()


def _connect(database: str, iter_chunk_size: int = 64, **kwargs: Any) -> OneHopConnection:
    connection = OneHopConnection(lambda: sqlite3.connect(database, **kwargs), iter_chunk_size)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: never block exit
    return connection


def _do_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=_connect, **cparams)


def install(engine: AsyncEngine) -> None:
    """Make the (sqlite+aiosqlite) engine open one-hop connections."""
    event.listen(engine.sync_engine, "do_connect", _do_connect)
