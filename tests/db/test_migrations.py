"""The same Alembic revisions upgrade, downgrade and upgrade again on both databases."""

from __future__ import annotations

from sqlalchemy import inspect

from bot.migrate import current, downgrade, upgrade
from core.db import Base, make_engine


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    await upgrade(engine)
    assert await current(engine) is not None
    assert await _tables(empty_database_url) == set(Base.metadata.tables)
    await downgrade(engine, "base")
    assert await _tables(empty_database_url) == set()
    await upgrade(engine)
    assert await _tables(empty_database_url) == set(Base.metadata.tables)
    await engine.dispose()


async def test_models_and_migrations_agree(empty_database_url: str) -> None:
    """Autogenerate finds nothing to add: every model change has its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(empty_database_url)
    await upgrade(engine)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
            )
        )
    await engine.dispose()
    assert diff == []
