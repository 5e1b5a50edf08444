"""`trustcart run`: one process serving the Telegram bot, the web server and the scheduler.

Composition root: settings → database → PTB Application (token, base_url for a self-hosted or
fake Bot API, Defaults(tzinfo=shop zone)) → handlers → aiohttp web app → JobQueue. Long polling
by default; with TELEGRAM_WEBHOOK_URL set, Telegram POSTs to our own /telegram/webhook and the
updates are put on the application's queue. The web server and the WhatsApp dispatcher start
in post_init and stop in post_shutdown. SIGTERM or SIGINT stop everything gracefully.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.runtime import open_database
from bot.scheduler import schedule_jobs
from bot.settings import Settings
from bot.telegram_webhook import webhook_secret
from bot.web import build_web_app
from core.clock import Clock, system_clock
from core.db import SessionFactory, unit_of_work
from handlers.telegram import bot_commands, register
from handlers.telegram.services import KEY as SERVICES_KEY
from handlers.telegram.services import BotServices, install
from handlers.whatsapp import TWILIO_WEBHOOKS

# Opt in to PTB 23's behaviour now: time periods (RetryAfter.retry_after…) are timedeltas, and
# PTB stops warning about the int form on every flood-control error.
os.environ.setdefault("PTB_TIMEDELTA", "true")
log = logging.getLogger(__name__)
RUNTIME = "trustcart.runtime"
ALLOWED_UPDATES = ["message", "callback_query"]
PTBApp = Application[Any, Any, Any, Any, Any, Any]


@dataclass
class Runtime:
    """What post_init starts and post_shutdown stops, beside the bot itself."""

    settings: Settings
    sessions: SessionFactory
    web_app: web.Application
    schedule: bool = True
    runner: web.AppRunner | None = None
    dispatcher: Any = None
    port: int | None = None
    started: list[str] = field(default_factory=list)


def api_base(settings: Settings) -> str | None:
    """The Bot API server root from TELEGRAM_API_BASE_URL (None: api.telegram.org)."""
    base = settings.telegram_api_base_url.strip().rstrip("/")
    if not base:
        return None
    return base.removesuffix("/bot")


def build_application(
    settings: Settings, sessions: SessionFactory, clock: Clock = system_clock
) -> PTBApp:
    """The PTB Application with our handlers and services (no network yet)."""
    token = settings.require("TELEGRAM_BOT_TOKEN")
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(tzinfo=settings.tz))
        .concurrent_updates(16)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    base = api_base(settings)
    if base:
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    if settings.telegram_webhook_url:
        builder = builder.updater(None)  # our aiohttp server receives the updates
    application = builder.build()
    install(
        application,
        BotServices(
            sessions=sessions,
            clock=clock,
            serialize_writes=settings.database_url.startswith("sqlite"),
        ),
    )
    register(application)
    return application


def build_runtime(
    settings: Settings, sessions: SessionFactory, clock: Clock = system_clock, schedule: bool = True
) -> tuple[PTBApp, Runtime]:
    """The application and the web app wired together (webhook route only in webhook mode)."""
    application = build_application(settings, sessions, clock)
    webhook = application if settings.telegram_webhook_url else None
    web_app = build_web_app(settings, sessions, telegram=webhook)
    runtime = Runtime(settings, sessions, web_app, schedule=schedule)
    application.bot_data[RUNTIME] = runtime
    return application, runtime


async def post_init(application: PTBApp) -> None:
    """Start what lives beside the bot: command menu, web server, dispatcher, jobs."""
    rt: Runtime = application.bot_data[RUNTIME]
    svc: BotServices = application.bot_data[SERVICES_KEY]
    svc.bot_username = application.bot.username
    await application.bot.set_my_commands(bot_commands())
    rt.runner = web.AppRunner(rt.web_app, access_log=None)
    await rt.runner.setup()
    site = web.TCPSite(rt.runner, rt.settings.web_host, rt.settings.web_port)
    await site.start()
    addresses = rt.runner.addresses  # one site: its listening sockets' (host, port, …)
    if addresses:
        rt.port = addresses[0][1]
    rt.started.append("web")
    log.info("web server on %s:%s", rt.settings.web_host, rt.port)
    rt.dispatcher = await _start_dispatcher(rt)
    if rt.schedule:
        async with unit_of_work(rt.sessions) as session:
            team = await svc.team(session)
        schedule_jobs(application, team, rt.settings.tz)
        rt.started.append("scheduler")


async def _start_dispatcher(rt: Runtime) -> Any:
    """The WhatsApp outbox dispatcher, when the messaging package provides one."""
    try:
        service = importlib.import_module("messaging.service")
    except ModuleNotFoundError:
        log.info("messaging.service not installed: no WhatsApp dispatcher")
        return None
    dispatcher = service.build_dispatcher(rt.settings, rt.sessions)
    await dispatcher.start()
    rt.web_app[TWILIO_WEBHOOKS].connect_dispatcher(dispatcher.wake)  # replies go at once
    rt.started.append("dispatcher")
    return dispatcher


async def post_shutdown(application: PTBApp) -> None:
    """Stop the dispatcher and the web server (the bot is already shut down)."""
    rt: Runtime = application.bot_data[RUNTIME]
    if rt.dispatcher is not None:
        await rt.dispatcher.stop()
        rt.dispatcher = None
    if rt.runner is not None:
        await rt.runner.cleanup()
        rt.runner = None


async def serve(application: PTBApp, stop: asyncio.Event) -> None:
    """Run until `stop` is set: initialize, post_init, receive updates, then shut down in order."""
    settings: Settings = application.bot_data[RUNTIME].settings
    await application.initialize()  # getMe: InvalidToken or NetworkError surface here
    try:
        assert application.post_init is not None
        await application.post_init(application)
        if settings.telegram_webhook_url:
            await application.bot.set_webhook(
                settings.telegram_webhook_url,
                secret_token=webhook_secret(settings),
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            assert application.updater is not None
            await application.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, poll_interval=0.0, timeout=10
            )
        await application.start()
        log.info(
            "TrustCart is running (%s)", "webhook" if settings.telegram_webhook_url else "polling"
        )
        await stop.wait()
    finally:
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def run_process(settings: Settings) -> None:
    """`trustcart run`: open the database, serve until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_database(settings) as db:
        application, _ = build_runtime(settings, db.sessions)
        await serve(application, stop)
