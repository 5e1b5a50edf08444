"""The daily cadence: every step for one date, each exactly once, crash-safe, one process at a time.

Steps, in order: segments → predictions → membership → coupons → reminders → crosssell →
(weekly: crosssell_rates) → winback → campaigns → assignment. Each step runs in its OWN transaction
together with its `job_runs` row (job `daily:{step}`, run_date = as_of): the row is inserted first
(ON CONFLICT DO NOTHING), so a step that already ran is skipped, and a crash inside a step rolls
back its work and its row alike; a re-run finishes what is left. On PostgreSQL each step's
transaction first takes `pg_try_advisory_xact_lock(hashtextextended(job, 0))`, so when several
processes run the same day only one does each step. When every step of a date is done, a
`daily` row marks the date complete (catch-up starts after the last complete date).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, system_clock
from core.db import SessionFactory, is_postgres
from core.models import JobRun
from core.shopconfig.loader import ShopConfig, load_applied_config
from core.sqlbulk import insert_ignore

StepFn = Callable[[AsyncSession, date, ShopConfig], Awaitable[dict[str, Any]]]
STEPS = (
    "segments",
    "predictions",
    "membership",
    "coupons",  # welcome / repeat / referral coupons and redemptions of imported orders
    "reminders",
    "crosssell",
    "crosssell_rates",  # weekly, on team.weekly_review_weekday
    "winback",
    "campaigns",
    "assignment",
)
DAY_DONE = "daily"
STEP_WORK_MEM = "128MB"  # PostgreSQL: memory per sort / hash of a step's statements
STALE_STATS_SHARE = 0.2  # PostgreSQL: re-analyze a table when this share of it changed …
STALE_STATS_MIN_ROWS = 10_000  # … and at least this many rows
# step → (module, function); imported when the step runs, so a missing module is reported
_TARGETS = {
    "segments": ("core.customers.segments", "refresh_segments"),
    "membership": ("core.membership", "membership_step"),
    "coupons": ("core.couponing", "coupons_step"),
    "reminders": ("core.reminders", "reminders_step"),
    "crosssell": ("core.crosssell", "crosssell_step"),
    "winback": ("core.winback", "winback_step"),
    "campaigns": ("core.campaigns", "campaign_step"),
    "assignment": ("core.assignment", "assignment_step"),
}


class InjectedFailure(RuntimeError):
    """Raised by the `fail_at` hook (tests prove crash safety with it)."""


@dataclass
class StepResult:
    name: str
    status: str  # ran / skipped (already done) / locked (another process) / unavailable / off
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class CadenceReport:
    as_of: date
    steps: list[StepResult] = field(default_factory=list)
    analyzed: list[str] = field(default_factory=list)  # PostgreSQL tables re-analyzed first

    def status(self) -> dict[str, str]:
        """step → status."""
        return {s.name: s.status for s in self.steps}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "as_of": self.as_of.isoformat(),
            "analyzed": self.analyzed,
            "steps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "seconds": round(s.seconds, 3),
                    "counts": s.counts,
                }
                for s in self.steps
            ],
        }


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def resolve_step(name: str, cfg: ShopConfig) -> StepFn | None:
    """The function of a step, or None when its module (or config section) is not there."""
    if name == "predictions":
        if not hasattr(cfg, "predictions"):
            return None
        try:
            module = importlib.import_module("core.predictions.step")
        except ModuleNotFoundError:
            return None

        async def predictions(session: AsyncSession, as_of: date, c: ShopConfig) -> dict[str, Any]:
            return await module.run_predictions_step(session, as_of, c.predictions)  # type: ignore[attr-defined]

        return predictions
    if name == "crosssell_rates":
        from core.crosssell import recompute_success_rates

        async def rates(session: AsyncSession, as_of: date, _c: ShopConfig) -> dict[str, Any]:
            return await recompute_success_rates(session, as_of)

        return rates
    module_name, attr = _TARGETS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    fn: StepFn | None = getattr(module, attr, None)
    return fn


async def _take_lock(session: AsyncSession, job: str) -> bool:
    if not is_postgres(session):
        return True  # SQLite: one writer at a time; the job_runs row decides
    got = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:job, 0))"), {"job": job}
    )
    if got:
        # the steps sort and hash whole tables: keep that in memory (the default 4 MB spills
        # a 2M-line window sort to disk); SET LOCAL ends with the step's transaction
        await session.execute(text(f"SET LOCAL work_mem = '{STEP_WORK_MEM}'"))
    return bool(got)


async def refresh_planner_stats(
    sessions: SessionFactory,
    *,
    min_rows: int = STALE_STATS_MIN_ROWS,
    share: float = STALE_STATS_SHARE,
) -> list[str]:
    """PostgreSQL: ANALYZE the tables changed by more than `STALE_STATS_SHARE` since their last
    analyze (a bulk import the autovacuum has not caught up with makes the planner pick nested
    loops over millions of rows); the analyzed tables, none on SQLite."""
    async with sessions() as session, session.begin():
        if not is_postgres(session):
            return []
        stale = list(
            (
                await session.scalars(
                    text(
                        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
                        " AND n_mod_since_analyze >= :floor"
                        " AND n_mod_since_analyze > :share * GREATEST(n_live_tup, 1)"
                        " ORDER BY relname"
                    ),
                    {"floor": min_rows, "share": share},
                )
            ).all()
        )
        if stale:
            await session.execute(text("ANALYZE " + ", ".join(f'"{t}"' for t in stale)))
    return stale


async def run_step(
    sessions: SessionFactory,
    as_of: date,
    name: str,
    fn: StepFn,
    *,
    fail_at: str | None = None,
    clock: Clock = system_clock,
) -> StepResult:
    """One step in its own transaction with its job_runs row; skipped when it already ran."""
    job = f"daily:{name}"
    began = time.perf_counter()
    async with sessions() as session, session.begin():
        if not await _take_lock(session, job):
            return StepResult(name, "locked")
        row = {
            "job": job,
            "run_date": as_of,
            "status": "running",
            "detail": {},
            "started_at": clock(),
        }
        if await insert_ignore(session, JobRun, [row], ["job", "run_date"]) == 0:
            return StepResult(name, "skipped")
        if fail_at == f"{name}:before":
            raise InjectedFailure(fail_at)
        cfg = await load_applied_config(session)
        counts = _json_safe(await fn(session, as_of, cfg))
        if fail_at == f"{name}:inside":
            raise InjectedFailure(fail_at)
        await session.execute(
            update(JobRun)
            .where(JobRun.job == job, JobRun.run_date == as_of)
            .values(status="done", detail=counts, finished_at=clock())
        )
    return StepResult(name, "ran", counts, time.perf_counter() - began)


def steps_for(as_of: date, cfg: ShopConfig) -> list[str]:
    """The steps of a date: every daily step, plus the weekly ones on the review weekday."""
    weekly = as_of.weekday() == cfg.team.weekly_review_weekday
    return [s for s in STEPS if s != "crosssell_rates" or weekly]


async def run_cadence(
    sessions: SessionFactory,
    as_of: date,
    *,
    only: Sequence[str] | None = None,
    fail_at: str | None = None,
    clock: Clock = system_clock,
) -> CadenceReport:
    """Run every step of the cadence for one date (each once; a re-run adds nothing)."""
    async with sessions() as session:
        cfg = await load_applied_config(session)
    report = CadenceReport(as_of)
    planned = steps_for(as_of, cfg)
    for name in planned:
        if only is not None and name not in only:
            report.steps.append(StepResult(name, "off"))
            continue
        fn = resolve_step(name, cfg)
        if fn is None:
            report.steps.append(StepResult(name, "unavailable"))
            continue
        # a step may have changed a table a lot (membership's messages on a first run)
        report.analyzed.extend(await refresh_planner_stats(sessions))
        report.steps.append(await run_step(sessions, as_of, name, fn, fail_at=fail_at, clock=clock))
    await _mark_day(sessions, as_of, [f"daily:{n}" for n in planned if resolve_step(n, cfg)], clock)
    return report


async def _mark_day(sessions: SessionFactory, as_of: date, jobs: list[str], clock: Clock) -> None:
    async with sessions() as session, session.begin():
        done = await session.scalar(
            select(func.count()).where(
                JobRun.job.in_(jobs), JobRun.run_date == as_of, JobRun.status == "done"
            )
        )
        if done == len(jobs):
            row = {
                "job": DAY_DONE,
                "run_date": as_of,
                "status": "done",
                "detail": {},
                "started_at": clock(),
            }
            await insert_ignore(session, JobRun, [row], ["job", "run_date"])


async def missed_dates(sessions: SessionFactory, today: date, max_days: int) -> list[date]:
    """Dates to run, oldest first: after the last complete date (or any unfinished date within
    reach), never more than `max_days` back; just today on a fresh install."""
    earliest = today - timedelta(days=max_days)
    async with sessions() as session:
        last_done = await session.scalar(
            select(func.max(JobRun.run_date)).where(
                JobRun.job == DAY_DONE, JobRun.run_date <= today
            )
        )
        partial = await session.scalar(
            select(func.min(JobRun.run_date)).where(
                JobRun.job.like("daily:%"),
                JobRun.run_date >= earliest,
                JobRun.run_date <= today,
                JobRun.run_date > (last_done or date.min),
            )
        )
    start = today if last_done is None else last_done + timedelta(days=1)
    if partial is not None:
        start = min(start, partial)
    start = max(start, earliest)
    return [start + timedelta(days=i) for i in range((today - start).days + 1)]


async def catch_up(
    sessions: SessionFactory, today: date, max_days: int, *, clock: Clock = system_clock
) -> list[CadenceReport]:
    """Run the missed dates up to today, oldest first."""
    return [
        await run_cadence(sessions, day, clock=clock)
        for day in await missed_dates(sessions, today, max_days)
    ]
