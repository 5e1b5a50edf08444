"""Call outcomes: each is an engagement and moves the task (close, retry, reschedule, keep open)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NoReturn, cast

from sqlalchemy import Table, case, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import SHOP_TZ, add_days, local_date
from core.errors import ConfigError, Conflict, InvalidInput, NotFound, PermissionDenied
from core.models import Agent, Customer, Engagement, Task
from core.shopconfig.schema import TeamConfig

OUTCOMES = ("ordered", "no_answer", "call_later", "not_interested", "wrong_number", "note")
LATER_CHOICES = ("2h", "tomorrow", "3d")
NOT_INTERESTED_REASONS = ("price", "has_stock", "quality", "moved", "other")
NOTE_MAX = 2000
# The tap's statements work on the tables directly: no ORM objects to load, flush or sync.
_TASKS = cast(Table, Task.__table__)
_T = _TASKS.c
_ENGAGEMENTS = cast(Table, Engagement.__table__)


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


def _changes(
    outcome: str,
    now: datetime,
    later: str | None,
    reason: str | None,
    note: str | None,
    team: TeamConfig,
) -> tuple[dict[str, Any], str | None]:
    """The task's new column values (SQL expressions of its old ones) and the engagement body."""
    closing = {"status": "done", "outcome": outcome, "completed_at": now}
    if outcome == "ordered":
        return closing, None
    if outcome == "no_answer":
        # one statement decides: the last allowed try closes the task, earlier ones retry later
        last_try = _T.attempts + 1 >= team.no_answer_retry_limit
        retry_at = now + timedelta(hours=team.no_answer_retry_hours)
        retry_on = local_date(retry_at, SHOP_TZ)
        return {
            "attempts": _T.attempts + 1,
            "status": case((last_try, "done"), else_=_T.status),
            "outcome": case((last_try, outcome), else_=_T.outcome),
            "completed_at": case((last_try, now), else_=_T.completed_at),
            "due_at": case((last_try, _T.due_at), else_=retry_at),
            "due_date": case((or_(last_try, _T.due_date > retry_on), _T.due_date), else_=retry_on),
        }, None
    if outcome == "call_later":
        due_date, due_at = _later(now, later or "")
        return {"due_date": due_date, "due_at": due_at}, f"later:{later}"
    if outcome == "not_interested":
        if reason not in NOT_INTERESTED_REASONS:
            raise InvalidInput(f"not interested: unknown reason {reason!r}")
        return {**closing, "outcome_note": reason}, reason
    if outcome == "wrong_number":
        return closing, None
    text = (note or "").strip()
    if not text:
        raise InvalidInput("a note needs some text")
    return {"outcome_note": text[:NOTE_MAX]}, text[:NOTE_MAX]


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
    """Log what happened on a call and move the task; only its open task's assignee may do this.

    The check and the change are one UPDATE … WHERE id, assignee and status='open' RETURNING,
    then one INSERT of the engagement: a write transaction of two statements (four for a wrong
    number). Nothing is written when the check fails; the error then says why.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r}")
    values, body = _changes(outcome, now, later, reason, note, team or TeamConfig())
    changed = (
        await session.execute(
            update(_TASKS)
            .where(_T.id == task_id, _T.agent_id == agent_id, _T.status == "open")
            .values(**values, updated_at=now)
            .returning(_T.customer_id, _T.status, _T.attempts, _T.due_date, _T.due_at)
        )
    ).first()
    if changed is None:
        await _refuse(session, task_id, agent_id)
    customer_id, status, attempts, due_date, due_at = changed
    if outcome == "no_answer":
        limit = (team or TeamConfig()).no_answer_retry_limit
        body = f"attempt {attempts}/{limit}"
    elif outcome == "wrong_number":
        await _mark_phone_invalid(session, customer_id, task_id, now)
    inserted = await session.execute(
        insert(_ENGAGEMENTS)
        .values(
            customer_id=customer_id,
            agent_id=agent_id,
            task_id=task_id,
            kind="note" if outcome == "note" else "call",
            channel="call",
            direction="out",
            outcome=outcome,
            body=body,
            occurred_at=now,
            occurred_on=local_date(now, SHOP_TZ),
        )
        .returning(_ENGAGEMENTS.c.id)
    )
    engagement_id = int(inserted.scalar_one())
    return OutcomeResult(task_id, outcome, status != "open", due_date, due_at, engagement_id)


async def _refuse(session: AsyncSession, task_id: int, agent_id: int) -> NoReturn:
    """Why a task could not be changed: gone, someone else's, or already closed."""
    row = (
        await session.execute(select(Task.agent_id, Task.status).where(Task.id == task_id))
    ).first()
    if row is None:
        raise NotFound(f"no task {task_id}")
    if row.agent_id != agent_id:
        raise PermissionDenied("this task is not assigned to you")
    raise Conflict("this task is already closed")


async def _mark_phone_invalid(
    session: AsyncSession, customer_id: int, task_id: int, now: datetime
) -> None:
    """A wrong number: the customer is unreachable by phone; their other open calls are cancelled."""
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(phone_valid=False)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Task)
        .where(
            Task.customer_id == customer_id,
            Task.status == "open",
            Task.id != task_id,
        )
        .values(status="cancelled", outcome="wrong_number", completed_at=now)
        .execution_options(synchronize_session=False)
    )


async def reassign(session: AsyncSession, task_id: int, agent_id: int) -> Task:
    """Give an open task to another active agent (a manager's decision)."""
    # populate_existing: the locked row as it is now, not a copy this session loaded earlier
    task = await session.get(Task, task_id, with_for_update=True, populate_existing=True)
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
