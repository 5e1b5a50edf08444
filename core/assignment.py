"""Assigning open tasks to the team: area, seniority, stickiness, daily capacity, overflow.

Policy (`config/team.yaml` and the agents' own rows):
- Who takes what: calls (reminder, offer follow-up, win-back, membership upgrade, reorder) go
  to role `agent`; `card_generation` is back-office work for role `admin`, else `manager`;
  `support` goes to role `support`.
- The customer's sticky agent (`customers.assigned_agent_id`) keeps them while that agent is
  active, still covers the customer's district (or covers every district) and has room today.
- Otherwise agents whose `districts` list the customer's district or city; when they are all
  full, agents with no district list (floaters). When no agent covers the area at all (or the
  customer has no district), any agent of the role.
- VIP/HOT customers (`team.senior_for`, matched on priority_level or customer_type) go to
  senior agents first, then to the others.
- Capacity: an agent's day holds at most `daily_capacity` open tasks due that day or earlier.
  Among those with room the least loaded (fewest open tasks) wins; ties by id.
- Overflow: a task nobody has room for moves to the next day (`overflowed = True`), is counted
  and reported (`overflow_report`). Tasks are taken by priority (highest first), then id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, case, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Agent, Customer, Task
from core.shopconfig import ShopConfig
from core.sqlbulk import table_of

CALL_TYPES = ("reminder_call", "offer_followup", "winback", "membership_upgrade", "reorder")
ROLES_FOR_TYPE: dict[str, tuple[str, ...]] = {
    "card_generation": ("admin", "manager"),
    "support": ("support",),
}


def roles_for(task_type: str) -> tuple[str, ...]:
    """The roles that take a task type, most preferred first."""
    return ROLES_FOR_TYPE.get(task_type, ("agent",))


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    district: str | None = None
    city: str | None = None
    priority_level: str = "warm"
    customer_type: str = "new"
    assigned_agent_id: int | None = None


@dataclass(frozen=True)
class AgentInfo:
    id: int
    role: str = "agent"
    senior: bool = False
    districts: tuple[str, ...] = ()
    daily_capacity: int = 40
    active: bool = True


@dataclass
class Load:
    today: int = 0  # open tasks in the agent's queue due today or earlier
    open: int = 0  # all open tasks of the agent


@dataclass(frozen=True)
class AssignmentPolicy:
    senior_for: frozenset[str] = frozenset({"hot", "vip"})
    sticky: bool = True


def _norm(place: str | None) -> str:
    return (place or "").strip().casefold()


def covers(agent: AgentInfo, customer: CustomerInfo) -> bool:
    """Whether an agent's districts list the customer's district or city."""
    places = {_norm(d) for d in agent.districts}
    return bool(places & ({_norm(customer.district), _norm(customer.city)} - {""}))


def choose_agent(
    customer: CustomerInfo,
    candidates: Sequence[AgentInfo],
    loads: dict[int, Load],
    policy: AssignmentPolicy,
) -> int | None:
    """The agent to take a task about this customer, or None when nobody has room today."""

    def room(a: AgentInfo) -> bool:
        return a.active and loads.get(a.id, Load()).today < a.daily_capacity

    active = [a for a in candidates if a.active]
    area = [a for a in active if covers(a, customer)]
    if policy.sticky and customer.assigned_agent_id is not None:
        sticky = next((a for a in active if a.id == customer.assigned_agent_id), None)
        if (
            sticky is not None
            and room(sticky)
            and (not area or sticky in area or not sticky.districts)
        ):
            return sticky.id
    # area agents, then floaters (no district list); nobody covers the area: anyone
    pools = [area, [a for a in active if not a.districts]] if area else [active]
    wants_senior = bool({customer.priority_level, customer.customer_type} & set(policy.senior_for))
    for pool in pools:
        free = [a for a in pool if room(a)]
        if wants_senior and any(a.senior for a in free):
            free = [a for a in free if a.senior]
        if free:
            best = min(
                free,
                key=lambda a: (loads.get(a.id, Load()).open, loads.get(a.id, Load()).today, a.id),
            )
            return best.id
    return None


async def load_agents(session: AsyncSession) -> list[AgentInfo]:
    """Every active agent as the chooser sees it."""
    rows = await session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.id))
    return [
        AgentInfo(a.id, a.role, a.senior, tuple(a.districts or ()), a.daily_capacity, a.active)
        for a in rows
    ]


async def agent_loads(session: AsyncSession, day: date) -> dict[int, Load]:
    """Open tasks per agent: due by `day`, and in all."""
    rows = await session.execute(
        select(
            Task.agent_id,
            func.sum(case((Task.due_date <= day, 1), else_=0)),
            func.count(),
        )
        .where(Task.status == "open", Task.agent_id.is_not(None))
        .group_by(Task.agent_id)
    )
    return {aid: Load(int(today or 0), int(n)) for aid, today, n in rows.all()}


async def call_room(session: AsyncSession, days: Sequence[date]) -> dict[date, int]:
    """Calls the agents can still take on each day: capacity minus open calls due that day.

    The first day also counts what is overdue (it sits in today's queues)."""
    if not days:
        return {}
    capacity = int(
        await session.scalar(
            select(func.coalesce(func.sum(Agent.daily_capacity), 0)).where(
                Agent.active.is_(True), Agent.role == "agent"
            )
        )
        or 0
    )
    first, last = min(days), max(days)
    rows = await session.execute(
        select(Task.due_date, func.count())
        .where(Task.status == "open", Task.type.in_(CALL_TYPES), Task.due_date <= last)
        .group_by(Task.due_date)
    )
    used: Counter[date] = Counter()
    for due, n in rows.all():
        used[max(due, first)] += int(n)
    return {d: max(0, capacity - used[d]) for d in days}


@dataclass
class AssignmentResult:
    assigned: int = 0
    overflow: int = 0
    by_agent: Counter[int] = field(default_factory=Counter)


async def assign_open_tasks(
    session: AsyncSession, as_of: date, policy: AssignmentPolicy
) -> AssignmentResult:
    """Give every open unassigned task due by `as_of` an agent, or roll it to tomorrow.

    Loads only rise while tasks are handed out, so a task whose roles have no room left can
    never be placed: the backlog of such tasks (the overflow of earlier days, mostly) is not
    read into Python but rolled over by one UPDATE, after the placed tasks got their agent.
    """
    agents = await load_agents(session)
    by_role: dict[str, list[AgentInfo]] = {}
    for a in agents:
        by_role.setdefault(a.role, []).append(a)
    loads = await agent_loads(session, as_of)
    full = {role for role in _ROLES if not _any_room(by_role.get(role, []), loads)}
    due = (Task.status == "open", Task.agent_id.is_(None), Task.due_date <= as_of)
    result = AssignmentResult()
    assigned: list[dict[str, int]] = []
    sticky: dict[int, int] = {}
    rows: Sequence[Any] = []
    if not full.issuperset(_ROLES):
        rows = (
            await session.execute(
                select(
                    Task.id,
                    Task.type,
                    Customer.id,
                    Customer.district,
                    Customer.city,
                    Customer.priority_level,
                    Customer.customer_type,
                    Customer.assigned_agent_id,
                )
                .join(Customer, Customer.id == Task.customer_id)
                .where(*due, _placeable_types(full))
                .order_by(Task.priority.desc(), Task.id)
            )
        ).all()
    for task_id, task_type, cid, district, city, level, ctype, sticky_id in rows:
        roles = roles_for(task_type)
        if full.issuperset(_ROLES):
            break  # nobody has room any more: the rest rolls over with the backlog
        customer = CustomerInfo(cid, district, city, level, ctype, sticky_id)
        chosen = None
        for role in roles:
            if role in full:
                continue
            chosen = choose_agent(customer, by_role.get(role, []), loads, policy)
            if chosen is None and not _any_room(by_role.get(role, []), loads):
                full.add(role)  # every later task of this role overflows too: skip the search
            if chosen is not None:
                break
        if chosen is None:
            continue
        load = loads.setdefault(chosen, Load())
        load.today += 1
        load.open += 1
        assigned.append({"b_id": task_id, "b_agent": chosen})
        result.by_agent[chosen] += 1
        if roles == ("agent",):
            sticky[customer.id] = chosen
    tasks = table_of(Task)
    if assigned:
        await session.execute(
            tasks.update()
            .where(tasks.c.id == bindparam("b_id"))
            .values(agent_id=bindparam("b_agent")),
            assigned,
        )
    if sticky:
        customers = table_of(Customer)
        await session.execute(
            customers.update()
            .where(customers.c.id == bindparam("b_id"))
            .values(assigned_agent_id=bindparam("b_agent")),
            [{"b_id": cid, "b_agent": aid} for cid, aid in sticky.items()],
        )
    # every due task still without an agent (the placed ones have theirs now) rolls over
    rolled = await session.execute(
        tasks.update()
        .where(tasks.c.status == "open", tasks.c.agent_id.is_(None), tasks.c.due_date <= as_of)
        .values(due_date=as_of + timedelta(days=1), overflowed=True)
    )
    result.assigned = len(assigned)
    result.overflow = max(rolled.rowcount or 0, 0)  # type: ignore[attr-defined]
    return result


# every role a task type can go to (the default `agent` included)
_ROLES = tuple(dict.fromkeys(("agent", *(r for rs in ROLES_FOR_TYPE.values() for r in rs))))


def _placeable_types(full: set[str]) -> Any:
    """A condition on the task type: one of the type's roles still has room."""
    blocked = [t for t, roles in ROLES_FOR_TYPE.items() if full.issuperset(roles)]
    if "agent" not in full:
        return Task.type.not_in(blocked) if blocked else true()
    placeable = [t for t in ROLES_FOR_TYPE if t not in blocked]
    return Task.type.in_(placeable) if placeable else false()


def _any_room(agents: Sequence[AgentInfo], loads: dict[int, Load]) -> bool:
    return any(loads.get(a.id, Load()).today < a.daily_capacity for a in agents if a.active)


def policy_from(cfg: ShopConfig) -> AssignmentPolicy:
    """The assignment policy of the applied config."""
    return AssignmentPolicy(frozenset(cfg.team.senior_for), cfg.team.sticky_customers)


async def assignment_step(session: AsyncSession, as_of: date, cfg: ShopConfig) -> dict[str, int]:
    """The daily assignment job: open unassigned tasks due by `as_of` → agents, or overflow."""
    result = await assign_open_tasks(session, as_of, policy_from(cfg))
    return {"assigned": result.assigned, "overflow": result.overflow}


@dataclass(frozen=True)
class OverflowLine:
    task_id: int
    type: str
    customer_id: int
    customer_name: str
    district: str | None
    priority_level: str
    due_date: date


@dataclass
class OverflowReport:
    as_of: date
    waiting: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    by_district: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)
    top: list[OverflowLine] = field(default_factory=list)


async def overflow_report(session: AsyncSession, as_of: date, limit: int = 20) -> OverflowReport:
    """Work rolled over for lack of capacity and still waiting for an agent (for /overflow)."""
    rows = (
        await session.execute(
            select(
                Task.id,
                Task.type,
                Customer.id,
                Customer.name,
                Customer.district,
                Task.priority_level,
                Task.due_date,
            )
            .join(Customer, Customer.id == Task.customer_id)
            .where(
                Task.status == "open",
                Task.overflowed.is_(True),
                Task.agent_id.is_(None),
                Task.due_date > as_of,
            )
            .order_by(Task.priority.desc(), Task.id)
        )
    ).all()
    report = OverflowReport(as_of, waiting=len(rows))
    for row in rows:
        line = OverflowLine(*row)
        report.by_type[line.type] += 1
        report.by_district[line.district or "—"] += 1
        report.by_priority[line.priority_level] += 1
        if len(report.top) < limit:
            report.top.append(line)
    return report
