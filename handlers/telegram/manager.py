"""Managers' commands: /summary [date], /team [week], /campaigns, /overflow, /reassign, /invite."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from telegram import Update

from core.assignment import overflow_report
from core.digits import to_ascii_digits
from core.errors import InvalidInput
from core.kpis import campaign_report, daily_summary, team_report
from core.team import MANAGER_ROLES, agent_by_ref, create_invite, reassign
from handlers import charts
from handlers.telegram import render_reports
from handlers.telegram.delivery import send_text, with_retry
from handlers.telegram.guard import Context, guarded, identify
from handlers.telegram.services import services

INVITE_USAGE = "/invite NAME ROLE [district …] [senior] [capacity=K]"


def parse_day(text: str | None, today: date) -> date:
    """A date argument: YYYY-MM-DD (Bangla digits too), "yesterday"/"গতকাল", or today."""
    if not text:
        return today
    text = to_ascii_digits(text.strip().lower())
    if text in ("yesterday", "গতকাল"):
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def week_of(text: str | None, today: date) -> tuple[date, date]:
    """Monday to Sunday (or today) of the week asked for: this week, "last", or one containing a date."""
    if text and text.strip().lower() in ("last", "গত"):
        day = today - timedelta(days=7)
    else:
        day = parse_day(text, today)
    start = day - timedelta(days=day.weekday())
    return start, min(start + timedelta(days=6), today)


async def send_photo(context: Context, chat_id: int, png: bytes, caption: str) -> None:
    """A chart as a photo (multipart upload), honouring flood control."""
    await with_retry(lambda: context.bot.send_photo(chat_id, photo=png, caption=caption[:1024]))


def _chat(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


@guarded
async def summary(update: Update, context: Context) -> None:
    """/summary [date]: the day's KPIs as text, then the chart as a photo."""
    svc = services(context)
    async with svc.reading() as session:
        agent = await identify(session, update, MANAGER_ROLES)
        day = parse_day(context.args[0] if context.args else None, svc.today())
        team = await svc.team(session)
        s = await daily_summary(session, day, team.attribution_days)
        lang = agent.language
    await send_text(context.bot, _chat(update), render_reports.summary_text(s, lang))
    await send_photo(context, _chat(update), charts.daily_chart(s), f"TrustCart {day.isoformat()}")


@guarded
async def team(update: Update, context: Context) -> None:
    """/team [week|last|date]: calls, conversion, follow-up % and revenue per agent."""
    svc = services(context)
    async with svc.reading() as session:
        agent = await identify(session, update, MANAGER_ROLES)
        start, end = week_of(context.args[0] if context.args else None, svc.today())
        cfg = await svc.team(session)
        report = await team_report(session, start, end, cfg.attribution_days)
        lang = agent.language
    await send_text(context.bot, _chat(update), render_reports.team_text(report, start, end, lang))
    if report:
        await send_photo(context, _chat(update), charts.team_chart(report), f"Team {start}–{end}")


@guarded
async def campaigns(update: Update, context: Context) -> None:
    """/campaigns: each campaign's delivery, response, conversion (vs holdout), redemption."""
    svc = services(context)
    async with svc.reading() as session:
        agent = await identify(session, update, MANAGER_ROLES)
        report = await campaign_report(session, svc.today())
        lang = agent.language
    await send_text(context.bot, _chat(update), render_reports.campaigns_text(report, lang))


@guarded
async def overflow(update: Update, context: Context) -> None:
    """/overflow: work rolled to a later day for lack of capacity."""
    svc = services(context)
    async with svc.reading() as session:
        agent = await identify(session, update, MANAGER_ROLES)
        report = await overflow_report(session, svc.today())
        lang = agent.language
    await send_text(context.bot, _chat(update), render_reports.overflow_text(report, lang))


@guarded
async def reassign_task(update: Update, context: Context) -> None:
    """/reassign TASK AGENT: give an open task to another agent (id or name)."""
    svc = services(context)
    args = context.args or []
    if len(args) < 2 or not args[0].lstrip("#").isdigit():
        raise InvalidInput("/reassign TASK AGENT")
    async with svc.writing() as session:
        manager = await identify(session, update, MANAGER_ROLES)
        target = await agent_by_ref(session, " ".join(args[1:]))
        task = await reassign(session, int(args[0].lstrip("#")), target.id)
        text = render_reports.reassigned_text(task.id, target.name, manager.language)
    await send_text(context.bot, _chat(update), text)


def parse_invite(args: list[str]) -> dict[str, Any]:
    """NAME ROLE [district …] [senior] [capacity=K] → create_invite keywords."""
    if len(args) < 2:
        raise InvalidInput(INVITE_USAGE)
    name, role, *rest = args
    options: dict[str, Any] = {
        "name": name.replace("_", " "),
        "role": role.lower(),
        "districts": [],
        "senior": False,
        "capacity": None,
    }
    for word in rest:
        if word.lower() == "senior":
            options["senior"] = True
        elif word.lower().startswith("capacity="):
            value = to_ascii_digits(word.split("=", 1)[1])
            if not value.isdigit():
                raise InvalidInput(INVITE_USAGE)
            options["capacity"] = int(value)
        else:
            options["districts"].append(word)
    return options


@guarded
async def invite(update: Update, context: Context) -> None:
    """/invite NAME ROLE …: a single-use, expiring code and its deep link."""
    svc = services(context)
    options = parse_invite(context.args or [])
    async with svc.writing() as session:
        manager = await identify(session, update, MANAGER_ROLES)
        team_cfg = await svc.team(session)
        if options["capacity"] is None:
            options["capacity"] = team_cfg.default_daily_capacity
        made = await create_invite(
            session,
            created_by=manager.id,
            now=svc.now(),
            valid_hours=team_cfg.invite_valid_hours,
            **options,
        )
        lang = manager.language
    username = context.bot.username if context.bot else None
    link = f"https://t.me/{username}?start={made.code}" if username else None
    text = render_reports.invite_text(options["name"], made.code, made.expires_at, link, lang)
    await send_text(context.bot, _chat(update), text)
