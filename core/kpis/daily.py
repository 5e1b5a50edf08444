"""The day's summary for managers: tasks per agent, the message funnel, influence, segment split."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kpis.attribution import Influence, influence_on_day
from core.kpis.messages import MessageFunnel, day_funnel
from core.kpis.results import JsonResult
from core.kpis.sql import COUNTED, day_bounds, money
from core.kpis.team import FIELD_ROLES
from core.models import Agent, Customer, Order, Task
from core.models.customers import LIFECYCLE_STAGES, PRIORITY_LEVELS

UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class AgentDay(JsonResult):
    agent_id: int | None  # None: tasks nobody is assigned to
    agent_name: str
    generated: int  # tasks created by the cadence of that day (created_on)
    completed: int  # tasks marked done during that shop-local day (completed_at)


@dataclass(frozen=True)
class DailySummary(JsonResult):
    day: date
    attribution_days: int
    agents: list[AgentDay]
    tasks_generated: int
    tasks_completed: int
    messages: MessageFunnel
    orders: int  # all counted orders dated that day
    revenue: Decimal
    influenced_by_tasks: Influence  # see core.kpis.attribution
    influenced_by_messages: Influence
    influenced: Influence  # by either, each order once
    priority_split: dict[str, int]  # customers per priority_level (hot/warm/cold)
    lifecycle_split: dict[str, int]  # customers per lifecycle_stage


async def _tasks_per_agent(session: AsyncSession, day: date) -> dict[int | None, list[int]]:
    lo, hi = day_bounds(day, day)
    per_agent: dict[int | None, list[int]] = {}
    generated = await session.execute(
        select(Task.agent_id, func.count()).where(Task.created_on == day).group_by(Task.agent_id)
    )
    for aid, n in generated:
        per_agent.setdefault(aid, [0, 0])[0] = int(n)
    completed = await session.execute(
        select(Task.agent_id, func.count())
        .where(Task.status == "done", Task.completed_at >= lo, Task.completed_at < hi)
        .group_by(Task.agent_id)
    )
    for aid, n in completed:
        per_agent.setdefault(aid, [0, 0])[1] = int(n)
    return per_agent


async def _segment_split(session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
    """Customers per priority_level and per lifecycle_stage (known values first, in order)."""
    rows = await session.execute(
        select(Customer.lifecycle_stage, Customer.priority_level, func.count()).group_by(
            Customer.lifecycle_stage, Customer.priority_level
        )
    )
    priority = dict.fromkeys(PRIORITY_LEVELS, 0)
    lifecycle = dict.fromkeys(LIFECYCLE_STAGES, 0)
    for stage, level, n in rows:
        lifecycle[stage] = lifecycle.get(stage, 0) + int(n)
        priority[level] = priority.get(level, 0) + int(n)
    return priority, lifecycle


async def daily_summary(
    session: AsyncSession, day: date, attribution_days: int = 7
) -> DailySummary:
    """Tasks generated/completed per agent, messages, orders and revenue influenced, segments."""
    per_agent = await _tasks_per_agent(session, day)
    agents = (await session.execute(select(Agent.id, Agent.name, Agent.role, Agent.active))).all()
    rows = []
    for agent_id, name, role, active in agents:
        generated, completed = per_agent.pop(agent_id, [0, 0])
        if (active and role in FIELD_ROLES) or generated or completed:
            rows.append(AgentDay(agent_id, name, generated, completed))
    rows.sort(key=lambda a: (a.agent_name, a.agent_id or 0))
    if None in per_agent:
        generated, completed = per_agent.pop(None)
        rows.append(AgentDay(None, UNASSIGNED, generated, completed))

    orders, revenue = (
        await session.execute(
            select(func.count(), func.sum(Order.total)).where(
                Order.status.in_(COUNTED), Order.order_date == day
            )
        )
    ).one()
    by_tasks, by_messages, either = await influence_on_day(session, day, attribution_days)
    priority_split, lifecycle_split = await _segment_split(session)

    return DailySummary(
        day=day,
        attribution_days=attribution_days,
        agents=rows,
        tasks_generated=sum(a.generated for a in rows),
        tasks_completed=sum(a.completed for a in rows),
        messages=await day_funnel(session, day),
        orders=int(orders),
        revenue=money(revenue),
        influenced_by_tasks=by_tasks,
        influenced_by_messages=by_messages,
        influenced=either,
        priority_split=priority_split,
        lifecycle_split=lifecycle_split,
    )
