"""The aiohttp web application: health, the orders API, the Telegram and Twilio webhooks.

Each adapter adds its routes through a `setup_*` function called from `build_web_app`;
shared objects (session factory, settings, clients) live in typed AppKeys below.
"""

from __future__ import annotations

from aiohttp import web

from bot.settings import Settings
from core.db import SessionFactory

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


def build_web_app(settings: Settings, sessions: SessionFactory) -> web.Application:
    """The web application with every route the process serves."""
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[SESSIONS] = sessions
    app[SETTINGS] = settings
    app.router.add_get("/healthz", healthz)
    return app
