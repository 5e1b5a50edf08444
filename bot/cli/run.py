"""`trustcart run`: the bot, the web server and the scheduler in one process."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer
from telegram.error import InvalidToken, NetworkError

from bot.app import api_base, run_process
from bot.settings import MissingSetting, get_settings


def run(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Serve Telegram (polling, or webhook when TELEGRAM_WEBHOOK_URL is set), web and scheduler."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = get_settings()
    try:
        settings.require("TELEGRAM_BOT_TOKEN")
        asyncio.run(run_process(settings))
    except MissingSetting as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except InvalidToken:
        print(
            "error: Telegram rejected TELEGRAM_BOT_TOKEN (invalid token): "
            "copy it again from @BotFather",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    except NetworkError as exc:
        where = api_base(settings) or "https://api.telegram.org"
        print(f"error: cannot reach the Telegram Bot API at {where}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except OSError as exc:
        print(
            f"error: cannot serve on {settings.web_host}:{settings.web_port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
