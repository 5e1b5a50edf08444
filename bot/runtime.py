"""Process wiring shared by the CLI, the web server and the bot: engines and sessions from settings."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import MissingSetting, Settings, get_settings
from core.db import SessionFactory, make_engine, make_session_factory

T = TypeVar("T")


@dataclass
class Database:
    engine: AsyncEngine
    sessions: SessionFactory


@asynccontextmanager
async def open_database(settings: Settings | None = None) -> AsyncIterator[Database]:
    """An engine and session factory for the configured DATABASE_URL, disposed on exit."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    try:
        yield Database(engine, make_session_factory(engine))
    finally:
        await engine.dispose()


def run(coro: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
    """Run a coroutine for a CLI command; a missing setting is one line on stderr and exit 2."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except MissingSetting as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
