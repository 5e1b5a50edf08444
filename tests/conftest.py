"""Database fixtures: every database test runs on SQLite and on PostgreSQL.

- `new_database`: a factory of more such databases (for tests that compare two runs).
- `engine`: a migrated database of its own for the test (commits allowed), cloned from a
  template migrated once per run (SQLite: a file copy; PostgreSQL: CREATE DATABASE … TEMPLATE).
- `session`: a session on that engine (commit freely; the database is thrown away).
- `backend`: "sqlite" or "postgres".

PostgreSQL comes from TEST_DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/test).
When it is unreachable its tests skip, unless REQUIRE_POSTGRES=1, which fails them instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.migrate import upgrade
from core.db import make_engine, make_session_factory

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("REQUIRE_POSTGRES") == "1"
RUN_ID = uuid.uuid4().hex[:8]


class _PgServer:
    """Creates throwaway databases on the test server; one template per test run."""

    def __init__(self) -> None:
        self.admin: AsyncEngine | None = None
        self.template: str | None = None
        self.error: str | None = None
        self.created: list[str] = []

    def url_for(self, database: str) -> str:
        return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)

    async def start(self) -> None:
        self.admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            async with self.admin.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            self.error = f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}: {exc}"
            return
        self.template = f"tc_tpl_{RUN_ID}"
        await self._create(self.template)
        engine = make_engine(self.url_for(self.template))
        await upgrade(engine)
        await engine.dispose()

    async def _create(self, name: str, template: str | None = None) -> None:
        assert self.admin is not None
        suffix = f" TEMPLATE {template}" if template else ""
        async with self.admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        self.created.append(name)

    async def clone(self) -> str:
        name = f"tc_{RUN_ID}_{uuid.uuid4().hex[:10]}"
        await self._create(name, self.template)
        return self.url_for(name)

    async def drop(self, url: str) -> None:
        assert self.admin is not None
        name = make_url(url).database
        async with self.admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.created:
            self.created.remove(name)

    async def stop(self) -> None:
        if self.admin is None:
            return
        if self.error is None:
            for name in list(self.created):
                await self.drop(self.url_for(name))
        await self.admin.dispose()


@pytest.fixture(scope="session")
async def pg_server() -> AsyncIterator[_PgServer]:
    server = _PgServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _postgres_unavailable(pg_server: _PgServer) -> None:
    if REQUIRE_PG:
        pytest.fail(f"REQUIRE_POSTGRES=1 but {pg_server.error}")
    pytest.skip(str(pg_server.error))


@pytest.fixture
async def new_database(
    backend: str, tmp_path: Path, sqlite_template: Path, pg_server: _PgServer
) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """A factory of freshly migrated databases on the test's backend (dropped afterwards)."""
    made: list[str] = []

    async def make() -> str:
        if backend == "sqlite":
            path = tmp_path / f"test-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(sqlite_template, path)
            return f"sqlite+aiosqlite:///{path}"
        if pg_server.error is not None:
            _postgres_unavailable(pg_server)
        url = await pg_server.clone()
        made.append(url)
        return url

    yield make
    for url in made:
        await pg_server.drop(url)


@pytest.fixture
async def database_url(new_database: Callable[[], Awaitable[str]]) -> str:
    """The URL of a freshly migrated database for one test."""
    return await new_database()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    factory = make_session_factory(engine)
    async with factory() as s:
        yield s


@pytest.fixture
async def empty_database_url(
    backend: str, tmp_path: Path, pg_server: _PgServer
) -> AsyncIterator[str]:
    """Only for migration tests: the URL of a database with no tables yet."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    if pg_server.error is not None:
        _postgres_unavailable(pg_server)
    name = f"tc_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    await pg_server._create(name)
    url = pg_server.url_for(name)
    yield url
    await pg_server.drop(url)
