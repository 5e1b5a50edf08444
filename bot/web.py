"""The aiohttp web application: health, the orders API, the Telegram and Twilio webhooks.

Each adapter adds its routes through a `setup_*` function called from `build_web_app`;
shared objects (session factory, settings, clients) live in typed AppKeys below.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.settings import Settings
from core.db import SessionFactory
from handlers.api import setup_orders_api
from handlers.whatsapp import setup_twilio_webhooks

SESSIONS = web.AppKey("sessions", SessionFactory)
SETTINGS = web.AppKey("settings", Settings)


async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability."""
    from sqlalchemy import text

    try:
        async with request.app[SESSIONS]() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - report any database failure as unhealthy
        return web.json_response({"status": "error", "database": str(exc)}, status=503)
    return web.json_response({"status": "ok"})


def build_web_app(
    settings: Settings, sessions: SessionFactory, *, telegram: Any | None = None
) -> web.Application:
    """The web application with every route the process serves.

    `telegram`: the PTB Application, in webhook mode only (adds POST /telegram/webhook).
    """
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[SESSIONS] = sessions
    app[SETTINGS] = settings
    app.router.add_get("/healthz", healthz)
    setup_orders_api(
        app,
        sessions,
        settings.orders_api_token.get_secret_value() if settings.orders_api_token else None,
    )
    setup_twilio_webhooks(
        app,
        sessions,
        auth_token=settings.twilio_auth_token.get_secret_value()
        if settings.twilio_auth_token
        else "",
        public_base_url=settings.public_base_url,
        erp_order_webhook_url=settings.erp_order_webhook_url,
    )
    if telegram is not None:
        from bot.telegram_webhook import setup_telegram_webhook, webhook_secret

        setup_telegram_webhook(app, telegram, webhook_secret(settings))
    return app
