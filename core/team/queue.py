"""An agent's queue: today's overview, the next task in priority order, pages, the day's tally."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.clock import add_days, start_of_day
from core.errors import Conflict, NotFound, PermissionDenied
from core.models import Customer, Engagement, Order, OrderLine, Product, Task
from core.models.customers import CustomerPrediction, PredictionModel
from core.models.orders import COUNTED_STATUSES
from core.predictions.outlook import CustomerOutlook, outlook_of

LEVELS = ("hot", "warm", "cold")
TOP_PRODUCTS = 3


@dataclass(frozen=True)
class Overview:
    as_of: date
    total: int
    pending: int  # open and workable now
    waiting: int  # open, but "call later" not yet due
    completed: int  # closed today
    by_level: dict[str, int]  # today's tasks (pending + waiting + completed) per HOT/WARM/COLD
    pending_by_level: dict[str, int]


@dataclass(frozen=True)
class TaskLine:
    id: int
    type: str
    priority_level: str
    customer_name: str
    due_date: date
    due_at: datetime | None


@dataclass(frozen=True)
class TaskCard:
    task_id: int
    type: str
    status: str
    agent_id: int | None
    priority_level: str
    due_date: date
    attempts: int
    reason_bn: str
    reason_en: str
    suggestion: dict[str, Any]
    script_key: str | None
    customer_id: int
    customer_name: str
    phone: str
    phone_valid: bool
    tier: str
    lifecycle_stage: str
    customer_type: str
    customer_priority: str
    last_order_date: date | None
    last_order_total: Decimal | None
    ltv: Decimal
    order_count: int
    top_products: list[tuple[str, str | None]] = field(default_factory=list)  # (name, name_bn)
    outlook: CustomerOutlook | None = None  # what the prediction models say, when scored


def _today_window(as_of: date) -> tuple[datetime, datetime]:
    return start_of_day(as_of), start_of_day(add_days(as_of, 1))


def _workable(agent_id: int, as_of: date, now: datetime) -> Any:
    return and_(
        Task.agent_id == agent_id,
        Task.status == "open",
        Task.due_date <= as_of,
        or_(Task.due_at.is_(None), Task.due_at <= now),
    )


async def today_overview(
    session: AsyncSession, agent_id: int, as_of: date, now: datetime | None = None
) -> Overview:
    """Counts of today's tasks: total, pending vs completed, waiting, and the HOT/WARM/COLD split."""
    day_start, day_end = _today_window(as_of)
    now = now or day_end
    is_open = Task.status == "open"
    is_waiting = and_(is_open, Task.due_at.is_not(None), Task.due_at > now)
    is_done = and_(
        Task.status == "done", Task.completed_at >= day_start, Task.completed_at < day_end
    )
    rows = await session.execute(
        select(
            Task.priority_level,
            func.count(),
            func.sum(case((and_(is_open, ~is_waiting), 1), else_=0)),
            func.sum(case((is_waiting, 1), else_=0)),
            func.sum(case((is_done, 1), else_=0)),
        )
        .where(
            Task.agent_id == agent_id,
            or_(and_(is_open, Task.due_date <= as_of), is_done),
        )
        .group_by(Task.priority_level)
    )
    by_level = dict.fromkeys(LEVELS, 0)
    pending_by_level = dict.fromkeys(LEVELS, 0)
    pending = waiting = completed = 0
    for level, total, p, w, c in rows.all():
        by_level[level] = by_level.get(level, 0) + int(total)
        pending_by_level[level] = pending_by_level.get(level, 0) + int(p or 0)
        pending += int(p or 0)
        waiting += int(w or 0)
        completed += int(c or 0)
    return Overview(
        as_of=as_of,
        total=pending + waiting + completed,
        pending=pending,
        waiting=waiting,
        completed=completed,
        by_level=by_level,
        pending_by_level=pending_by_level,
    )


async def next_task_id(
    session: AsyncSession,
    agent_id: int,
    as_of: date,
    now: datetime,
    after_task_id: int | None = None,
    *,
    skip_task_id: int | None = None,
    skip_its_customer: bool = False,
) -> int | None:
    """The id of the next workable task (priority desc, due date, id), after one, wrapping round.

    `skip_task_id` leaves a task out (one whose outcome is being written, so the next card can
    be read before that commit), with every task of its customer when `skip_its_customer`.
    """
    order = (Task.priority.desc(), Task.due_date.asc(), Task.id.asc())
    # ids only: ix_tasks_agent_queue covers the whole search, no task row is read
    base = select(Task.id).where(_workable(agent_id, as_of, now)).order_by(*order).limit(1)
    if skip_task_id is not None:
        base = base.where(Task.id != skip_task_id)
        if skip_its_customer:
            tapped = aliased(Task)
            its_customer = select(tapped.customer_id).where(tapped.id == skip_task_id)
            base = base.where(Task.customer_id != its_customer.scalar_subquery())
    if after_task_id is not None:
        current = (
            await session.execute(
                select(Task.priority, Task.due_date).where(Task.id == after_task_id)
            )
        ).first()
        if current is not None:
            p, d = current
            later = or_(
                Task.priority < p,
                and_(Task.priority == p, Task.due_date > d),
                and_(Task.priority == p, Task.due_date == d, Task.id > after_task_id),
            )
            found = await session.scalar(base.where(later))
            if found is not None:
                return int(found)
    first = await session.scalar(base)
    return int(first) if first is not None else None


async def next_task(
    session: AsyncSession,
    agent_id: int,
    as_of: date,
    now: datetime,
    after_task_id: int | None = None,
) -> Task | None:
    """The next workable task (priority desc, due date, id); after a given one, wrapping round."""
    task_id = await next_task_id(session, agent_id, as_of, now, after_task_id)
    return await session.get(Task, task_id) if task_id is not None else None


async def task_for_agent(session: AsyncSession, task_id: int, agent_id: int) -> Task:
    """The task if it is assigned to this agent and still open (stale or forged → error)."""
    task = await session.get(Task, task_id, with_for_update=True, populate_existing=True)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.agent_id != agent_id:
        raise PermissionDenied("this task is not assigned to you")
    if task.status != "open":
        raise Conflict("this task is already closed")
    return task


async def list_tasks(
    session: AsyncSession, agent_id: int, as_of: date, page: int, page_size: int = 10
) -> tuple[list[TaskLine], int]:
    """One page of the agent's open tasks due by `as_of`, in queue order, and the total count."""
    where = and_(Task.agent_id == agent_id, Task.status == "open", Task.due_date <= as_of)
    total = int(await session.scalar(select(func.count()).select_from(Task).where(where)) or 0)
    rows = await session.execute(
        select(Task.id, Task.type, Task.priority_level, Customer.name, Task.due_date, Task.due_at)
        .join(Customer, Customer.id == Task.customer_id)
        .where(where)
        .order_by(Task.priority.desc(), Task.due_date.asc(), Task.id.asc())
        .offset(max(page, 0) * page_size)
        .limit(page_size)
    )
    return [TaskLine(*row) for row in rows.all()], total


async def load_card(session: AsyncSession, task_id: int) -> TaskCard:
    """Everything a task card shows: the task, its customer (with their prediction outlook, in
    the same statement), last order and top products."""
    last_total = (
        select(Order.total)
        .where(Order.customer_id == Customer.id, Order.status.in_(COUNTED_STATUSES))
        .order_by(Order.ordered_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(Task, Customer, last_total, CustomerPrediction, PredictionModel)
            .join(Customer, Customer.id == Task.customer_id)
            .outerjoin(CustomerPrediction, CustomerPrediction.customer_id == Customer.id)
            .outerjoin(PredictionModel, PredictionModel.id == CustomerPrediction.model_id)
            .where(Task.id == task_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"no task {task_id}")
    task, customer, last_order_total, pred, model = row
    counted = Order.status.in_(COUNTED_STATUSES)
    top = await session.execute(
        select(Product.name, Product.name_bn)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.customer_id == customer.id, counted)
        .group_by(Product.id, Product.name, Product.name_bn)
        .order_by(func.count().desc(), func.max(Order.order_date).desc())
        .limit(TOP_PRODUCTS)
    )
    return TaskCard(
        task_id=task.id,
        type=task.type,
        status=task.status,
        agent_id=task.agent_id,
        priority_level=task.priority_level,
        due_date=task.due_date,
        attempts=task.attempts,
        reason_bn=task.reason_bn,
        reason_en=task.reason_en,
        suggestion=dict(task.suggestion or {}),
        script_key=task.script_key,
        customer_id=customer.id,
        customer_name=customer.name,
        phone=customer.phone,
        phone_valid=customer.phone_valid,
        tier=customer.tier,
        lifecycle_stage=customer.lifecycle_stage,
        customer_type=customer.customer_type,
        customer_priority=customer.priority_level,
        last_order_date=customer.last_order_date,
        last_order_total=last_order_total,
        ltv=customer.total_spend,
        order_count=customer.order_count,
        top_products=[(n, bn) for n, bn in top.all()],
        outlook=outlook_of(customer.id, pred, model)
        if pred is not None and model is not None
        else None,
    )


async def day_tally(session: AsyncSession, agent_id: int, as_of: date) -> dict[str, int]:
    """The agent's logged outcomes on a local date (ordered, no_answer, …, note) and tasks closed."""
    rows = await session.execute(
        select(Engagement.outcome, func.count())
        .where(Engagement.agent_id == agent_id, Engagement.occurred_on == as_of)
        .where(Engagement.outcome.is_not(None))
        .group_by(Engagement.outcome)
    )
    tally = {str(outcome): int(n) for outcome, n in rows.all()}
    day_start, day_end = _today_window(as_of)
    tally["closed"] = int(
        await session.scalar(
            select(func.count())
            .select_from(Task)
            .where(
                Task.agent_id == agent_id,
                Task.status == "done",
                Task.completed_at >= day_start,
                Task.completed_at < day_end,
            )
        )
        or 0
    )
    return tally
