"""Revenue influenced: which counted orders an agent's call or a delivered message led to.

Agent tasks: an order is influenced by an agent when, on the order's date or up to
`attribution_days` days before it, that agent recorded the positive outcome "ordered" on a task
(a "call" engagement with a task) for the same customer. When several such outcomes precede an
order, the latest one gets it (last touch), so each order counts once.

Messages: an order on day D is influenced by messages when a message to the same customer was
delivered (or read) between the start of day D − `attribution_days` and the moment of the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import CompoundSelect, Select, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import start_of_day
from core.kpis.results import JsonResult
from core.kpis.sql import COUNTED, day_span, money
from core.models import Engagement, Message, Order

POSITIVE_OUTCOME = "ordered"


@dataclass(frozen=True)
class Influence(JsonResult):
    orders: int
    revenue: Decimal


def task_attributed_orders(first: date, last: date, attribution_days: int) -> Select:
    """Rows (order_id, agent_id, total): counted orders dated first..last and the agent they go to."""
    touches = (
        select(
            Order.id.label("order_id"),
            Order.total.label("total"),
            Engagement.agent_id.label("agent_id"),
            func.row_number()
            .over(
                partition_by=Order.id,
                order_by=(Engagement.occurred_at.desc(), Engagement.id.desc()),
            )
            .label("touch"),
        )
        .join(Engagement, Engagement.customer_id == Order.customer_id)
        .where(
            Order.status.in_(COUNTED),
            Order.order_date >= first,
            Order.order_date <= last,
            Engagement.kind == "call",
            Engagement.outcome == POSITIVE_OUTCOME,
            Engagement.task_id.is_not(None),
            Engagement.agent_id.is_not(None),
            # literal bounds let the index narrow the range; day_span makes it exact per order
            Engagement.occurred_on >= first - timedelta(days=attribution_days),
            Engagement.occurred_on <= last,
            day_span(Engagement.occurred_on, Order.order_date).between(0, attribution_days),
        )
        .subquery("touches")
    )
    return select(touches.c.order_id, touches.c.agent_id, touches.c.total).where(
        touches.c.touch == 1
    )


def message_attributed_orders(day: date, attribution_days: int) -> Select:
    """Rows (order_id, total): counted orders on `day` that follow a message delivered in the window."""
    reached_at = func.coalesce(Message.delivered_at, Message.read_at)
    return (
        select(Order.id.label("order_id"), Order.total.label("total"))
        .where(
            Order.status.in_(COUNTED),
            Order.order_date == day,
            select(Message.id)
            .where(
                Message.customer_id == Order.customer_id,
                reached_at >= start_of_day(day - timedelta(days=attribution_days)),
                reached_at <= Order.ordered_at,
            )
            .exists(),
        )
        .distinct()
    )


async def influence_of(session: AsyncSession, rows: Select | CompoundSelect) -> Influence:
    """Orders and revenue of an attributed-orders query (each order once)."""
    raw = rows.subquery()
    sub = select(raw.c.order_id, raw.c.total).distinct().subquery()
    count, revenue = (
        await session.execute(select(func.count(), func.sum(sub.c.total)).select_from(sub))
    ).one()
    return Influence(orders=int(count), revenue=money(revenue))


async def influence_by_agent(
    session: AsyncSession, first: date, last: date, attribution_days: int
) -> dict[int, Influence]:
    """agent_id → orders and revenue influenced by that agent's tasks, orders dated first..last."""
    sub = task_attributed_orders(first, last, attribution_days).subquery()
    rows = await session.execute(
        select(sub.c.agent_id, func.count(), func.sum(sub.c.total)).group_by(sub.c.agent_id)
    )
    return {aid: Influence(orders=int(n), revenue=money(rev)) for aid, n, rev in rows.all()}


async def influence_on_day(
    session: AsyncSession, day: date, attribution_days: int
) -> tuple[Influence, Influence, Influence]:
    """Orders on a day influenced by agent tasks, by messages, and by either (each order once)."""
    tasks = task_attributed_orders(day, day, attribution_days)
    messages = message_attributed_orders(day, attribution_days)
    by_tasks = await influence_of(session, tasks)
    by_messages = await influence_of(session, messages)
    by_task = tasks.subquery()
    either = union(select(by_task.c.order_id, by_task.c.total), messages)
    total = await influence_of(session, either)
    return by_tasks, by_messages, total
