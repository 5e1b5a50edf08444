"""The real TrustCart process (PTB Application + aiohttp + handlers) against the fake Bot API.

`running_bot(...)` starts `bot.app.serve` exactly as `trustcart run` does, in polling or webhook
mode, with a clock the test controls, and stops it gracefully at the end.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import build_runtime, serve
from bot.settings import Settings
from core.db import SessionFactory, unit_of_work
from core.shopconfig import apply_config, load_config_dir
from tests.fakes.telegram_api import Call, FakeTelegram, FakeUser

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
START = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 10:00 in Dhaka


class ManualClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def apply_shop_config(sessions: SessionFactory) -> None:
    async with unit_of_work(sessions) as session:
        await apply_config(session, load_config_dir(CONFIG_DIR))


@dataclass
class RunningBot:
    fake: FakeTelegram
    settings: Settings
    application: Any
    clock: ManualClock
    mode: str

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    async def say(self, user: FakeUser, text: str, replies: int = 1) -> list[Call]:
        """The user sends a text; waits for the bot's replies in that chat."""
        mark = self.fake.mark()
        await self.fake.send_text(user, text)
        return await self.fake.wait_for("sendMessage", chat_id=user.id, after=mark, count=replies)

    async def tap(self, user: FakeUser, message_id: int, data: str, edits: bool = True) -> Call:
        """The user taps a button; returns the edit of that message (or the query's answer)."""
        mark = self.fake.mark()
        query_id = await self.fake.press(user, message_id, data)
        answer = await self._answer(query_id, mark)
        if not edits:
            return answer
        (edit,) = await self.fake.wait_for("editMessageText", chat_id=user.id, after=mark)
        return edit

    async def _answer(self, query_id: str, mark: int) -> Call:
        for _ in range(200):
            for call in self.fake.find("answerCallbackQuery", after=mark):
                if call.params["callback_query_id"] == query_id:
                    return call
            await asyncio.sleep(0.025)
        raise AssertionError(
            f"callback {query_id} was never answered; calls {self.fake.calls[mark:]}"
        )


@asynccontextmanager
async def running_bot(
    fake: FakeTelegram, database_url: str, sessions: SessionFactory, mode: str
) -> AsyncIterator[RunningBot]:
    """Start the process in `mode` (polling/webhook) and stop it (as on SIGTERM) afterwards."""
    port = free_port()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        telegram_bot_token=fake.token,
        telegram_api_base_url=fake.url,
        telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/webhook"
        if mode == "webhook"
        else "",
        web_host="127.0.0.1",
        web_port=port,
    )
    await apply_shop_config(sessions)
    clock = ManualClock()
    application, _ = build_runtime(settings, sessions, clock=clock, schedule=False)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(application, stop))
    for _ in range(400):  # until the application processes updates (or start-up failed)
        if task.done():
            task.result()
            raise AssertionError("the bot stopped during start-up")
        if application.running:
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError("the bot did not start")
    try:
        yield RunningBot(fake, settings, application, clock, mode)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
