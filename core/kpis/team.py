"""Team KPIs per agent over a period: calls, conversion, follow-up completion, revenue influenced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.kpis.attribution import POSITIVE_OUTCOME, Influence, influence_by_agent
from core.kpis.results import JsonResult
from core.kpis.sql import day_bounds, ratio
from core.models import Agent, Engagement, Task

FIELD_ROLES = ("agent",)  # shown even on a day without activity


@dataclass(frozen=True)
class AgentPerformance(JsonResult):
    agent_id: int
    agent_name: str
    start: date
    end: date
    days: int
    calls: int  # "call" engagements on a task, recorded by the agent in the period
    calls_per_day: float  # calls / calendar days in the period
    ordered: int  # of those calls, outcome "ordered"
    conversion_rate: float  # ordered / calls
    tasks_due: int  # the agent's tasks due in the period, not cancelled
    tasks_done: int  # of those, done
    followup_completion_rate: float  # tasks_done / tasks_due
    orders_influenced: int  # counted orders in the period attributed to the agent (last touch)
    revenue_influenced: Decimal


async def call_counts(session: AsyncSession, start: date, end: date) -> dict[int, tuple[int, int]]:
    """agent_id → (calls, calls with outcome "ordered"): call engagements on tasks, start..end."""
    lo, hi = day_bounds(start, end)
    rows = await session.execute(
        select(
            Engagement.agent_id,
            func.count(),
            func.sum(case((Engagement.outcome == POSITIVE_OUTCOME, 1), else_=0)),
        )
        .where(
            Engagement.kind == "call",
            Engagement.task_id.is_not(None),
            Engagement.agent_id.is_not(None),
            Engagement.occurred_on >= start,
            Engagement.occurred_on <= end,
            # the same days as instants: lets ix_engagements_agent (agent_id, occurred_at) seek
            Engagement.occurred_at >= lo,
            Engagement.occurred_at < hi,
        )
        .group_by(Engagement.agent_id)
    )
    return {aid: (int(calls), int(ordered)) for aid, calls, ordered in rows.all()}


async def followup_counts(
    session: AsyncSession, start: date, end: date
) -> dict[int, tuple[int, int]]:
    """agent_id → (tasks due start..end and not cancelled, of which done)."""
    rows = await session.execute(
        select(
            Task.agent_id,
            func.count(),
            func.sum(case((Task.status == "done", 1), else_=0)),
        )
        .where(
            Task.agent_id.is_not(None),
            Task.status != "cancelled",
            Task.due_date >= start,
            Task.due_date <= end,
        )
        .group_by(Task.agent_id)
    )
    return {aid: (int(due), int(done)) for aid, due, done in rows.all()}


async def team_report(
    session: AsyncSession, start: date, end: date, attribution_days: int = 7
) -> list[AgentPerformance]:
    """Per agent, start..end inclusive: calls, calls per day, conversion, follow-up %, revenue."""
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")
    days = (end - start).days + 1
    calls = await call_counts(session, start, end)
    followups = await followup_counts(session, start, end)
    influence = await influence_by_agent(session, start, end, attribution_days)
    agents = (await session.execute(select(Agent.id, Agent.name, Agent.role, Agent.active))).all()

    report = []
    nothing = Influence(orders=0, revenue=Decimal("0.00"))
    for agent_id, name, role, active in agents:
        n_calls, n_ordered = calls.get(agent_id, (0, 0))
        due, done = followups.get(agent_id, (0, 0))
        inf = influence.get(agent_id, nothing)
        if not (active and role in FIELD_ROLES) and not (n_calls or due or inf.orders):
            continue
        report.append(
            AgentPerformance(
                agent_id=agent_id,
                agent_name=name,
                start=start,
                end=end,
                days=days,
                calls=n_calls,
                calls_per_day=ratio(n_calls, days),
                ordered=n_ordered,
                conversion_rate=ratio(n_ordered, n_calls),
                tasks_due=due,
                tasks_done=done,
                followup_completion_rate=ratio(done, due),
                orders_influenced=inf.orders,
                revenue_influenced=inf.revenue,
            )
        )
    report.sort(key=lambda a: (-a.calls, a.agent_name, a.agent_id))
    return report
