"""The scheduler: PTB's JobQueue (APScheduler) runs the daily cadence and the managers' pushes.

Times are shop-local (Asia/Dhaka, aware `time` values) from the applied team config. Each job
has an id, replaces an older one of the same id, coalesces missed runs and tolerates an hour of
delay (APScheduler's default grace is one second). Jobs live in memory: a day missed while the
process was down is caught up at start (core.daily.catch_up records which days ran).
"""

from __future__ import annotations

import importlib
import logging
from datetime import time
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application

from core.db import unit_of_work
from core.shopconfig.schema import TeamConfig
from handlers.telegram.guard import Context
from handlers.telegram.pushes import push_daily_summary, push_morning_queue, push_weekly_review
from handlers.telegram.services import services

log = logging.getLogger(__name__)
GRACE_SECONDS = 3600


def _daily_module() -> ModuleType | None:
    try:
        return importlib.import_module("core.daily")
    except ModuleNotFoundError:
        log.error("core.daily is missing: the daily cadence cannot run")
        return None


async def cadence_job(context: Context) -> None:
    """Run today's cadence (segments … assignment, messages), then tell agents their queue."""
    daily = _daily_module()
    if daily is None:
        return
    svc = services(context)
    report = await daily.run_cadence(svc.sessions, svc.today())
    log.info("daily cadence for %s: %s", svc.today(), report)
    await push_morning_queue(context)


async def catch_up_job(context: Context) -> None:
    """Run the days missed while the process was down (at most catch_up_days back)."""
    daily = _daily_module()
    if daily is None:
        return
    svc = services(context)
    async with unit_of_work(svc.sessions) as session:
        team = await svc.team(session)
    result = await daily.catch_up(svc.sessions, svc.today(), team.catch_up_days)
    log.info("catch-up: %s", result)


async def summary_job(context: Context) -> None:
    """The end-of-day summary to managers."""
    await push_daily_summary(context)


async def weekly_job(context: Context) -> None:
    """The weekly review to managers."""
    await push_weekly_review(context)


def ptb_weekday(monday_first: int) -> int:
    """Our weekday (0 = Monday) as PTB's run_daily expects it (0 = Sunday)."""
    return (monday_first + 1) % 7


def _job_kwargs(job_id: str) -> dict[str, Any]:
    return {
        "id": job_id,
        "replace_existing": True,
        "misfire_grace_time": GRACE_SECONDS,
        "coalesce": True,
    }


def schedule_jobs(
    application: Application[Any, Any, Any, Any, Any, Any], team: TeamConfig, tz: ZoneInfo
) -> None:
    """Register the daily cadence, end-of-day summary, weekly review and the start-up catch-up."""
    jq = application.job_queue
    assert jq is not None, "install python-telegram-bot[job-queue]"

    def at(t: time) -> time:
        return t.replace(tzinfo=tz)

    jq.run_daily(
        cadence_job,
        at(team.daily_run_at),
        name="daily-cadence",
        job_kwargs=_job_kwargs("daily-cadence"),
    )
    jq.run_daily(
        summary_job,
        at(team.end_of_day_summary_at),
        name="end-of-day-summary",
        job_kwargs=_job_kwargs("end-of-day-summary"),
    )
    jq.run_daily(
        weekly_job,
        at(team.weekly_review_at),
        days=(ptb_weekday(team.weekly_review_weekday),),
        name="weekly-review",
        job_kwargs=_job_kwargs("weekly-review"),
    )
    jq.run_once(catch_up_job, when=2, name="catch-up", job_kwargs=_job_kwargs("catch-up"))
