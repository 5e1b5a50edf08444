"""Creating tasks exactly once: bulk insert keyed by `dedupe_key`, returning every task's id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.bulk import among
from core.models import Task
from core.sqlbulk import insert_ignore

PRIORITY_BASE = {"hot": 3_000_000, "warm": 2_000_000, "cold": 1_000_000}


def task_priority(priority_level: str, value: float = 0.0, urgent: bool = False) -> int:
    """Sort key for queues: urgent first, then HOT > WARM > COLD, then customer value (৳)."""
    value_part = max(0, min(int(value), 999_999))
    return (10_000_000 if urgent else 0) + PRIORITY_BASE.get(priority_level, 0) + value_part


@dataclass(frozen=True)
class NewTask:
    dedupe_key: str
    type: str
    customer_id: int
    due_date: date
    priority_level: str
    priority: int
    reason_bn: str
    reason_en: str
    suggestion: dict[str, Any] = field(default_factory=dict)
    script_key: str | None = None
    campaign_id: int | None = None
    agent_id: int | None = None


async def create_tasks(
    session: AsyncSession, tasks: Sequence[NewTask], created_on: date
) -> dict[str, int]:
    """Insert tasks not created before; returns dedupe_key → id for all of them (old and new)."""
    if not tasks:
        return {}
    rows = [
        {
            "dedupe_key": t.dedupe_key,
            "type": t.type,
            "customer_id": t.customer_id,
            "agent_id": t.agent_id,
            "status": "open",
            "priority": t.priority,
            "priority_level": t.priority_level,
            "created_on": created_on,
            "due_date": t.due_date,
            "reason_bn": t.reason_bn,
            "reason_en": t.reason_en,
            "suggestion": t.suggestion,
            "script_key": t.script_key,
            "campaign_id": t.campaign_id,
        }
        for t in tasks
    ]
    await insert_ignore(session, Task, rows, ["dedupe_key"])
    return await ids_by_key(session, Task, (t.dedupe_key for t in tasks))


async def ids_by_key(session: AsyncSession, model: Any, keys: Iterable[str]) -> dict[str, int]:
    """dedupe_key → id for rows of a table with a `dedupe_key` column."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    result = await session.execute(
        select(model.dedupe_key, model.id).where(among(session, model.dedupe_key, wanted))
    )
    return {k: i for k, i in result.all()}
