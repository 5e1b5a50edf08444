"""Call outcomes: each is an engagement and moves the task (close, retry, reschedule, keep open)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import SHOP_TZ, add_days, local_date
from core.errors import ConfigError, Conflict, InvalidInput, NotFound
from core.models import Agent, Customer, Engagement, Task
from core.shopconfig.schema import TeamConfig
from core.team.queue import task_for_agent

OUTCOMES = ("ordered", "no_answer", "call_later", "not_interested", "wrong_number", "note")
LATER_CHOICES = ("2h", "tomorrow", "3d")
NOT_INTERESTED_REASONS = ("price", "has_stock", "quality", "moved", "other")
NOTE_MAX = 2000


@dataclass(frozen=True)
class OutcomeResult:
    task_id: int
    outcome: str
    closed: bool  # the task left the queue for good
    due_date: date
    due_at: datetime | None
    engagement_id: int


def _later(now: datetime, choice: str) -> tuple[date, datetime | None]:
    """When a "call later" task comes back: in two hours, tomorrow, or in three days."""
    today = local_date(now, SHOP_TZ)
    if choice == "2h":
        due_at = now + timedelta(hours=2)
        return local_date(due_at, SHOP_TZ), due_at
    if choice == "tomorrow":
        return add_days(today, 1), None
    if choice == "3d":
        return add_days(today, 3), None
    raise InvalidInput(f"call later: unknown choice {choice!r} ({', '.join(LATER_CHOICES)})")


async def record_outcome(
    session: AsyncSession,
    task_id: int,
    agent_id: int,
    outcome: str,
    now: datetime,
    *,
    later: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    team: TeamConfig | None = None,
) -> OutcomeResult:
    """Log what happened on a call and move the task; only its open task's assignee may do this."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r}")
    team = team or TeamConfig()
    task = await task_for_agent(session, task_id, agent_id)
    body: str | None = None
    closed = False
    if outcome == "ordered":
        closed = True
    elif outcome == "no_answer":
        task.attempts += 1
        if task.attempts >= team.no_answer_retry_limit:
            closed = True
        else:
            task.due_at = now + timedelta(hours=team.no_answer_retry_hours)
            task.due_date = max(task.due_date, local_date(task.due_at, SHOP_TZ))
        body = f"attempt {task.attempts}/{team.no_answer_retry_limit}"
    elif outcome == "call_later":
        task.due_date, task.due_at = _later(now, later or "")
        body = f"later:{later}"
    elif outcome == "not_interested":
        if reason not in NOT_INTERESTED_REASONS:
            raise InvalidInput(f"not interested: unknown reason {reason!r}")
        task.outcome_note = reason
        body = reason
        closed = True
    elif outcome == "wrong_number":
        closed = True
        await _mark_phone_invalid(session, task, now)
    elif outcome == "note":
        text = (note or "").strip()
        if not text:
            raise InvalidInput("a note needs some text")
        body = text[:NOTE_MAX]
        task.outcome_note = body
    if closed:
        task.status = "done"
        task.outcome = outcome
        task.completed_at = now
    engagement = Engagement(
        customer_id=task.customer_id,
        agent_id=agent_id,
        task_id=task.id,
        kind="note" if outcome == "note" else "call",
        channel="call",
        direction="out",
        outcome=outcome,
        body=body,
        occurred_at=now,
        occurred_on=local_date(now, SHOP_TZ),
    )
    session.add(engagement)
    await session.flush()
    return OutcomeResult(task.id, outcome, closed, task.due_date, task.due_at, engagement.id)


async def _mark_phone_invalid(session: AsyncSession, task: Task, now: datetime) -> None:
    """A wrong number: the customer is unreachable by phone; their other open calls are cancelled."""
    await session.execute(
        update(Customer).where(Customer.id == task.customer_id).values(phone_valid=False)
    )
    await session.execute(
        update(Task)
        .where(
            Task.customer_id == task.customer_id,
            Task.status == "open",
            Task.id != task.id,
        )
        .values(status="cancelled", outcome="wrong_number", completed_at=now)
        .execution_options(synchronize_session=False)
    )


async def reassign(session: AsyncSession, task_id: int, agent_id: int) -> Task:
    """Give an open task to another active agent (a manager's decision)."""
    task = await session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.status != "open":
        raise Conflict("this task is already closed")
    agent = await session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise NotFound(f"no active agent {agent_id}")
    task.agent_id = agent.id
    await session.flush()
    return task


async def deactivate_agent_and_reassign(
    session: AsyncSession, agent_id: int, as_of: date
) -> dict[str, int]:
    """An agent who left (or blocked the bot): inactive, open tasks unassigned and re-assigned."""
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    agent.active = False
    released = await session.execute(
        update(Task)
        .where(Task.agent_id == agent_id, Task.status == "open")
        .values(agent_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Customer)
        .where(Customer.assigned_agent_id == agent_id)
        .values(assigned_agent_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    counts = {"released": int(released.rowcount or 0)}  # type: ignore[attr-defined]
    try:
        assignment = importlib.import_module("core.assignment")
    except ModuleNotFoundError:
        return counts
    from core.shopconfig import load_applied_config

    try:
        cfg = await load_applied_config(session)
    except ConfigError:  # no rules to assign with: the next daily run picks the tasks up
        return counts
    assigned = await assignment.assignment_step(session, as_of, cfg)
    counts.update({f"assignment_{k}": int(v) for k, v in (assigned or {}).items()})
    return counts
