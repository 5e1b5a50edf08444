"""What the handlers share, kept in `application.bot_data`: sessions, clock, config, small state.

The composition root (bot/app.py) builds one `BotServices` and calls `install`; handlers reach it
through `services(context)`. Nothing here reads settings or builds engines.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from telegram.ext import Application, CallbackContext

from core.clock import Clock, local_date, system_clock
from core.db import Session, SessionFactory, unit_of_work, write_unit_of_work
from core.errors import ConfigError
from core.group_commit import GroupCommit
from core.shopconfig import ShopConfig, load_applied_config
from core.shopconfig.schema import TeamConfig

log = logging.getLogger(__name__)
KEY = "trustcart"
REFUSAL_QUIET = timedelta(hours=1)
CONFIG_TTL_SECONDS = 60.0
T = TypeVar("T")


@dataclass
class BotServices:
    sessions: SessionFactory
    clock: Clock = system_clock
    bot_username: str | None = None
    refusal_quiet: timedelta = REFUSAL_QUIET
    refused: dict[int, datetime] = field(default_factory=dict)  # stranger → last refusal
    # SQLite has one writer: queue writes in-process instead of spinning in its busy handler,
    # and commit concurrent taps together (group commit) instead of one transaction each.
    serialize_writes: bool = False
    _write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    committer: GroupCommit | None = None
    _config: ShopConfig | None = None
    _config_at: float = -1e9

    def __post_init__(self) -> None:
        if self.serialize_writes:
            self.committer = GroupCommit(self.sessions)

    def reading(self) -> Any:
        """A unit of work that only reads."""
        return unit_of_work(self.sessions)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Session]:
        """A unit of work that writes (SQLite: BEGIN IMMEDIATE, one writer at a time)."""
        if not self.serialize_writes:
            async with write_unit_of_work(self.sessions) as session:
                yield session
            return
        async with self._write_lock, write_unit_of_work(self.sessions) as session:
            yield session

    async def write(self, work: Callable[[Session], Awaitable[T]]) -> T:
        """Run a short write (a tap's outcome) and return its result once it has committed."""
        if self.committer is not None:
            return await self.committer.run(work)
        async with self.writing() as session:
            return await work(session)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return local_date(self.clock())

    async def config(self, session: Any) -> ShopConfig | None:
        """The applied shop config, re-read at most once a minute (None when never applied)."""
        if self._config is None or time.monotonic() - self._config_at > CONFIG_TTL_SECONDS:
            try:
                self._config = await load_applied_config(session)
            except ConfigError as exc:
                log.warning("shop config unavailable, using defaults: %s", exc)
                self._config = None
            self._config_at = time.monotonic()
        return self._config

    async def team(self, session: Any) -> TeamConfig:
        cfg = await self.config(session)
        return cfg.team if cfg is not None else TeamConfig()

    def first_refusal(self, user_id: int) -> bool:
        """True once per quiet period for a stranger: they hear no more than one refusal."""
        now = self.now()
        last = self.refused.get(user_id)
        if last is not None and now - last < self.refusal_quiet:
            return False
        if len(self.refused) > 10_000:  # forget old strangers rather than grow without bound
            cutoff = now - self.refusal_quiet
            self.refused = {k: v for k, v in self.refused.items() if v > cutoff}
        self.refused[user_id] = now
        return True


def install(application: Application[Any, Any, Any, Any, Any, Any], svc: BotServices) -> None:
    """Make the services reachable from every handler and job."""
    application.bot_data[KEY] = svc


def services(context: CallbackContext[Any, Any, Any, Any]) -> BotServices:
    """The services installed in the application."""
    return context.application.bot_data[KEY]  # type: ignore[no-any-return]
