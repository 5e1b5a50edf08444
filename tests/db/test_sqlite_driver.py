"""The one-hop aiosqlite cursor behaves like aiosqlite's: rows, rowcount, errors, long results."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core import sqlite_driver
from core.db import make_engine, make_session_factory, write_unit_of_work


@pytest.fixture
async def engine(tmp_path: Path):  # noqa: ANN201 - a plain SQLite engine, no migrations
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    yield engine
    await engine.dispose()


async def test_rows_rowcount_returning_and_errors(engine) -> None:  # noqa: ANN001
    async with engine.begin() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_driver.OneHopConnection)
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
        await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "a"}, {"v": "b"}])
        inserted = await conn.execute(text("INSERT INTO t (v) VALUES ('c')"))
        assert inserted.lastrowid == 3
        changed = await conn.execute(text("UPDATE t SET v = v || '!' WHERE id < 3 RETURNING id"))
        assert sorted(changed.scalars().all()) == [1, 2]
        updated = await conn.execute(text("UPDATE t SET v = 'z' WHERE id = 3"))
        assert updated.rowcount == 1
        assert (await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all() == [
            "a!",
            "b!",
            "z",
        ]
        with pytest.raises(IntegrityError):
            await conn.execute(text("INSERT INTO t (v) VALUES ('z')"))


async def test_long_results_come_whole_or_in_chunks(engine) -> None:  # noqa: ANN001
    n = sqlite_driver.CHUNK * 2 + 7
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE n (i INTEGER PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO n (i) VALUES (:i)"), [{"i": i} for i in range(n)])
        everything = (await conn.execute(text("SELECT i FROM n ORDER BY i"))).scalars().all()
        assert everything == list(range(n))
        returned = await conn.execute(text("UPDATE n SET i = i + 0 RETURNING i"))
        assert len(returned.all()) == n
    async with engine.connect() as conn:
        streamed = await conn.stream(text("SELECT i FROM n ORDER BY i"))
        first = await streamed.fetchmany(10)
        assert [r.i for r in first] == list(range(10))
        rest = [r.i async for r in streamed]
        assert rest == list(range(10, n))
        partial = await conn.stream(text("SELECT i FROM n"))
        assert len(await partial.fetchmany(3)) == 3
        await partial.close()  # a half-read long result closes cleanly
        assert (await conn.execute(text("SELECT count(*) FROM n"))).scalar() == n


async def test_transactions_begin_with_their_first_statement(engine) -> None:  # noqa: ANN001
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE k (v INTEGER)"))
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO k VALUES (1)"))
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw._conn.in_transaction  # BEGIN ran with the INSERT
            raise RuntimeError("undo")
    async with engine.begin() as conn:  # nothing ran: commit is free and harmless
        raw = (await conn.get_raw_connection()).driver_connection
    assert not raw._conn.in_transaction and raw._pending_begin is None
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM k"))).scalar() == 0
    async with write_unit_of_work(make_session_factory(engine)) as session:  # BEGIN IMMEDIATE
        await session.execute(text("INSERT INTO k VALUES (2)"))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT v FROM k"))).scalars().all() == [2]
