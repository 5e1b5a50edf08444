"""Messages the bot starts: the morning queue to agents, the day's summary and weekly review to managers.

An agent who blocked the bot (Forbidden) is marked inactive and their open tasks are re-assigned.
Each push is one message per person; one person's failure never stops the others.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from telegram.error import Forbidden, TelegramError

from core.kpis import campaign_report, daily_summary, team_report
from core.team import deactivate_agent_and_reassign, list_agents, manager_chats, today_overview
from core.team.access import QUEUE_ROLES
from handlers import charts
from handlers.telegram import render, render_reports
from handlers.telegram.delivery import send_text
from handlers.telegram.guard import Context
from handlers.telegram.manager import send_photo
from handlers.telegram.services import BotServices, services

log = logging.getLogger(__name__)


async def deliver(
    context: Context, svc: BotServices, agent_id: int, send: Callable[[], Awaitable[Any]]
) -> bool:
    """Run one push; Forbidden deactivates the agent and re-assigns their work."""
    try:
        await send()
    except Forbidden:
        log.warning("agent %s blocked the bot: deactivating and re-assigning", agent_id)
        async with svc.writing() as session:
            await deactivate_agent_and_reassign(session, agent_id, svc.today())
        return False
    except TelegramError as exc:
        log.error("push to agent %s failed: %s", agent_id, exc)
        return False
    return True


async def push_morning_queue(context: Context) -> int:
    """Each active agent with a chat gets today's counts and a button to the first task."""
    svc = services(context)
    now, today = svc.now(), svc.today()
    async with svc.reading() as session:
        agents = [
            a
            for a in await list_agents(session)
            if a.active and a.chat_id is not None and a.role in QUEUE_ROLES and a.open_tasks
        ]
        views = [(a, await today_overview(session, a.id, today, now)) for a in agents]
    sent = 0
    for a, ov in views:
        if ov.total == 0:
            continue
        text, markup = (
            render.overview_text(ov, a.language),
            render.overview_keyboard(ov, a.language),
        )
        chat_id = int(a.chat_id or 0)
        send = functools.partial(send_text, context.bot, chat_id, text, markup)
        sent += await deliver(context, svc, a.id, send)
    return sent


async def push_daily_summary(context: Context, day: date | None = None) -> int:
    """The day's summary and its chart to every manager."""
    svc = services(context)
    day = day or svc.today()
    async with svc.reading() as session:
        team = await svc.team(session)
        summary = await daily_summary(session, day, team.attribution_days)
        managers = await manager_chats(session)
    png = charts.daily_chart(summary)
    sent = 0
    for agent_id, chat_id, lang in managers:
        text = render_reports.summary_text(summary, lang)

        async def send(c: int = chat_id, t: str = text) -> None:
            await send_text(context.bot, c, t)
            await send_photo(context, c, png, f"TrustCart {day.isoformat()}")

        sent += await deliver(context, svc, agent_id, send)
    return sent


async def push_weekly_review(context: Context) -> int:
    """The last seven days per agent and every campaign, to every manager."""
    svc = services(context)
    end = svc.today() - timedelta(days=1)
    start = end - timedelta(days=6)
    async with svc.reading() as session:
        team = await svc.team(session)
        report = await team_report(session, start, end, team.attribution_days)
        camps = await campaign_report(session, end)
        managers = await manager_chats(session)
    png = charts.team_chart(report) if report else None
    sent = 0
    for agent_id, chat_id, lang in managers:
        text = render_reports.team_text(report, start, end, lang)
        text += "\n\n" + render_reports.campaigns_text(camps, lang)

        async def send(c: int = chat_id, t: str = text) -> None:
            await send_text(context.bot, c, t)
            if png is not None:
                await send_photo(context, c, png, f"Team {start}–{end}")

        sent += await deliver(context, svc, agent_id, send)
    return sent
