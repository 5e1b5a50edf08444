"""Telegram updates received by our own aiohttp server (webhook mode).

Telegram sends each update as a JSON POST with the secret given to setWebhook in the
`X-Telegram-Bot-Api-Secret-Token` header. A missing or wrong secret is answered 403 and nothing
is processed; a good one is decoded and put on the application's update queue.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.settings import MissingSetting, Settings

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
TELEGRAM_APP = web.AppKey("telegram_application", Application)
WEBHOOK_SECRET = web.AppKey("telegram_webhook_secret", str)


def webhook_secret(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the bot token (stable across restarts)."""
    if (
        settings.telegram_webhook_secret is not None
        and settings.telegram_webhook_secret.get_secret_value()
    ):
        secret = settings.require("TELEGRAM_WEBHOOK_SECRET")  # refuses the .env.example placeholder
        if not _SECRET.fullmatch(secret):
            raise MissingSetting(
                "TELEGRAM_WEBHOOK_SECRET", "must be 1-256 characters of A-Z a-z 0-9 _ -"
            )
        return secret
    token = settings.require("TELEGRAM_BOT_TOKEN")
    return hashlib.sha256(f"trustcart-webhook:{token}".encode()).hexdigest()  # [0-9a-f]{64}


async def receive_update(request: web.Request) -> web.Response:
    """Check the secret, then queue the update for the running application."""
    expected = request.app[WEBHOOK_SECRET]
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("webhook call with a missing or wrong secret token from %s", request.remote)
        return web.Response(status=403, text="forbidden")
    try:
        data: Any = await request.json()
    except ValueError:
        return web.Response(status=400, text="not JSON")
    application = request.app[TELEGRAM_APP]
    update = Update.de_json(data, application.bot)
    await application.update_queue.put(update)
    return web.Response(text="ok")


def setup_telegram_webhook(
    app: web.Application, application: Application[Any, Any, Any, Any, Any, Any], secret: str
) -> None:
    """Add the webhook route for this application."""
    app[TELEGRAM_APP] = application
    app[WEBHOOK_SECRET] = secret
    app.router.add_post(WEBHOOK_PATH, receive_update)
