"""`trustcart dispatch`: send what the outbox holds (by hand, or continuously without the bot)."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer

from bot.runtime import open_database, run
from bot.settings import get_settings
from core.errors import ConfigError
from messaging.service import build_dispatcher


async def _dispatch(once: bool) -> str:
    settings = get_settings()
    async with open_database(settings) as db:
        dispatcher = build_dispatcher(settings, db.sessions)
        if once:
            report = await dispatcher.drain_once()
            return f"{dispatcher.transport.name}: {report.summary()}"
        await dispatcher.start()
        try:
            await asyncio.Event().wait()  # until Ctrl-C
        finally:
            await dispatcher.stop()
        return dispatcher.report.summary()


def dispatch(
    once: bool = typer.Option(False, "--once", help="Send what is due now, then exit."),
) -> None:
    """Drain the WhatsApp/SMS outbox (Twilio when configured, else print to the console)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        print(run(_dispatch(once)))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(0) from None
