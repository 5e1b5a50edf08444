"""The cadence on both databases: a date twice adds nothing, crashes then re-runs leave exactly
what one clean run leaves, catch-up runs missed dates oldest first."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.daily import (
    InjectedFailure,
    catch_up,
    missed_dates,
    refresh_planner_stats,
    run_cadence,
)
from core.daily_report import cadence_report
from core.db import Base, make_engine, make_session_factory
from core.models import JobRun, Message, Reminder, Task
from tests.factories import (
    apply_shop_config,
    make_agent,
    make_customer,
    make_order,
    make_product,
)

DAY = date(2026, 3, 1)  # a Sunday (weekly review day) and the March campaign's start
CODE = re.compile(r"\b[A-Z0-9_]+-[2-9A-HJ-NP-Z]{6}\b")
VOLATILE_FK = {"task_id", "message_id", "engagement_id", "model_id", "coupon_id", "event_id"}


async def build_shop(engine: AsyncEngine) -> None:
    """A small shop where every step has something to do on DAY (same rows in every database)."""
    n = iter(range(1, 100))

    async def customer(**kw: Any) -> Any:
        i = next(n)
        return await make_customer(
            s, phone=f"+8801711{i:06d}", name=f"C{i}", district="Dhaka", **kw
        )

    async with make_session_factory(engine)() as s, s.begin():
        await apply_shop_config(s)
        await make_agent(s, name="Rina", senior=True, districts=["Dhaka"])
        await make_agent(s, name="Karim", districts=["Dhaka"])
        rice = await make_product(
            s, category="rice", sku="RICE-5KG", name="Miniket rice 5 kg", name_bn="চাল"
        )
        oil = await make_product(
            s, category="oil", sku="OIL-1L", name="Oil", name_bn="তেল", pack_size=1, unit="l"
        )
        spice = await make_product(
            s, category="spices", sku="SPICE", name="Spice", name_bn="মশলা", pack_size=200, unit="g"
        )
        due = await customer(priority_level="hot")
        await make_order(s, due, date(2026, 2, 7), [(rice, 5), (oil, 1)], external_id="o1")
        cross = await customer()
        await make_order(s, cross, date(2026, 2, 22), [(rice, 5)], external_id="o2")
        lapsed = await customer(priority_level="hot")
        await make_order(s, lapsed, date(2026, 1, 30), [(spice, 200)], external_id="o3")
        loyal = await customer(birthday=date(1990, 3, 1))
        for j, d in enumerate((date(2026, 1, 5), date(2026, 1, 25), date(2026, 2, 20))):
            await make_order(
                s, loyal, d, [(rice, 5), (oil, 2)], total=Decimal(2000), external_id=f"o4{j}"
            )
        for i in range(6):
            c = await customer(total_spend=Decimal(100 * i))
            day = date(2026, 2, 7) + timedelta(days=i % 3)
            await make_order(s, c, day, [(rice, 5)], external_id=f"o5{i}")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return CODE.sub("<code>", value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple]]:
    """Every table's rows without ids, instants, random codes or ids of generated rows."""
    out: dict[str, list[tuple]] = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            cols = [
                c
                for c in table.columns
                if c.name != "id" and not c.name.endswith("_at") and c.name != "code"
            ]
            rows = (await conn.execute(select(*cols))).all()
            normal = []
            for row in rows:
                values = []
                for col, v in zip(cols, row, strict=True):
                    if col.name in VOLATILE_FK:
                        v = v is not None
                    elif col.name == "detail" and table.name == "job_runs":
                        v = None  # step timings and counts of a retried step may differ
                    values.append(repr(_clean(v)))
                normal.append(tuple(values))
            out[table.name] = sorted(normal)
    return out


@pytest.fixture
async def second_engine(new_database) -> AsyncIterator[AsyncEngine]:
    """Another freshly migrated database on the same backend."""
    eng = make_engine(await new_database())
    yield eng
    await eng.dispose()


async def count(engine: AsyncEngine, model: type) -> int:
    async with make_session_factory(engine)() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_running_a_date_twice_adds_nothing(engine):
    await build_shop(engine)
    sessions = make_session_factory(engine)
    first = await run_cadence(sessions, DAY)
    assert first.status()["reminders"] == "ran"
    assert first.status()["crosssell_rates"] == "ran"  # Sunday
    before = await snapshot(engine)
    assert before["tasks"] and before["messages"] and before["reminders"]
    second = await run_cadence(sessions, DAY)
    assert {s.status for s in second.steps} <= {"skipped", "unavailable"}
    assert await snapshot(engine) == before
    async with sessions() as s:
        report = await cadence_report(s, DAY)
    assert report["reminders_by_product"] and report["messages"]
    assert any(r["sku"] == "RICE-5KG" for r in report["reminders_by_product"])


@pytest.mark.parametrize(
    "fail_at",
    ["reminders:before", "reminders:inside", "winback:inside", "assignment:inside"],
)
async def test_crash_then_rerun_equals_one_clean_run(engine, second_engine, fail_at):
    await build_shop(engine)
    await build_shop(second_engine)
    await run_cadence(make_session_factory(engine), DAY)
    clean = await snapshot(engine)

    crashed = make_session_factory(second_engine)
    with pytest.raises(InjectedFailure):
        await run_cadence(crashed, DAY, fail_at=fail_at)
    step = fail_at.split(":")[0]
    async with crashed() as s:
        jobs = set((await s.scalars(select(JobRun.job).where(JobRun.run_date == DAY))).all())
    assert f"daily:{step}" not in jobs and "daily" not in jobs
    await run_cadence(crashed, DAY)
    assert await snapshot(second_engine) == clean


async def test_catch_up_runs_missed_dates_oldest_first(engine):
    await build_shop(engine)
    sessions = make_session_factory(engine)
    assert await missed_dates(sessions, DAY, 7) == [DAY]  # fresh install: today only
    await run_cadence(sessions, DAY - timedelta(days=3))
    assert await missed_dates(sessions, DAY, 7) == [
        DAY - timedelta(days=2),
        DAY - timedelta(1),
        DAY,
    ]
    reports = await catch_up(sessions, DAY, 7)
    assert [r.as_of for r in reports] == [DAY - timedelta(days=2), DAY - timedelta(1), DAY]
    assert await missed_dates(sessions, DAY, 7) == []
    # a long outage: only max_days back
    assert await missed_dates(sessions, DAY + timedelta(days=30), 5) == [
        DAY + timedelta(days=25 + i) for i in range(6)
    ]
    # nothing is reminded twice across the caught-up days
    async with sessions() as s:
        lines = (await s.scalars(select(Reminder.order_line_id))).all()
        keys = (await s.scalars(select(Message.dedupe_key))).all()
        tasks = (await s.scalars(select(Task.dedupe_key))).all()
    assert len(lines) == len(set(lines)) and len(keys) == len(set(keys))
    assert len(tasks) == len(set(tasks))


async def test_only_runs_the_named_steps(engine):
    await build_shop(engine)
    sessions = make_session_factory(engine)
    report = await run_cadence(sessions, DAY, only=["reminders"])
    assert report.status()["reminders"] == "ran" and report.status()["winback"] == "off"
    assert await count(engine, Reminder) > 0
    async with sessions() as s:
        assert await s.scalar(select(JobRun.id).where(JobRun.job == "daily")) is None


async def test_planner_statistics_are_refreshed_after_a_bulk_change(engine):
    sessions = make_session_factory(engine)
    async with sessions() as s, s.begin():
        for i in range(30):
            await make_customer(s, phone=f"+8801811{i:06d}")
        if engine.dialect.name == "postgresql":
            await s.execute(text("SELECT pg_stat_force_next_flush()"))
    analyzed = await refresh_planner_stats(sessions, min_rows=20, share=0.2)
    if engine.dialect.name != "postgresql":
        assert analyzed == []  # SQLite plans without table statistics going stale
        return
    assert "customers" in analyzed
    assert "customers" not in await refresh_planner_stats(sessions, min_rows=20, share=0.2)
