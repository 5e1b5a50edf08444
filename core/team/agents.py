"""Agents: listing, lookup by id or name, language, and the managers' chats for pushes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.models import Agent, Task
from core.team.access import MANAGER_ROLES


@dataclass(frozen=True)
class AgentRow:
    id: int
    name: str
    role: str
    senior: bool
    districts: list[str]
    daily_capacity: int
    active: bool
    joined: bool
    language: str
    chat_id: int | None
    open_tasks: int


async def list_agents(session: AsyncSession) -> list[AgentRow]:
    """Every agent with the number of open tasks assigned to them."""
    open_count = (
        select(Task.agent_id, func.count().label("n"))
        .where(Task.status == "open", Task.agent_id.is_not(None))
        .group_by(Task.agent_id)
        .subquery()
    )
    rows = await session.execute(
        select(Agent, func.coalesce(open_count.c.n, 0))
        .outerjoin(open_count, open_count.c.agent_id == Agent.id)
        .order_by(Agent.id)
    )
    return [
        AgentRow(
            id=a.id,
            name=a.name,
            role=a.role,
            senior=a.senior,
            districts=list(a.districts or []),
            daily_capacity=a.daily_capacity,
            active=a.active,
            joined=a.telegram_user_id is not None,
            language=a.language,
            chat_id=a.telegram_chat_id,
            open_tasks=int(n),
        )
        for a, n in rows.all()
    ]


async def agent_by_ref(session: AsyncSession, ref: str) -> Agent:
    """An agent by numeric id or by exact (case-insensitive) name; NotFound otherwise."""
    ref = ref.strip()
    if ref.isdigit():
        agent = await session.get(Agent, int(ref))
    else:
        agent = await session.scalar(select(Agent).where(func.lower(Agent.name) == ref.lower()))
    if agent is None:
        raise NotFound(f"no agent {ref!r}")
    return agent


async def set_language(session: AsyncSession, agent_id: int, language: str) -> None:
    """Switch the language the bot speaks to an agent (bn or en)."""
    if language not in ("bn", "en"):
        raise InvalidInput("language must be bn or en")
    await session.execute(update(Agent).where(Agent.id == agent_id).values(language=language))


async def manager_chats(session: AsyncSession) -> list[tuple[int, int, str]]:
    """(agent id, chat id, language) of every active manager or admin who joined the bot."""
    rows = await session.execute(
        select(Agent.id, Agent.telegram_chat_id, Agent.language).where(
            Agent.role.in_(MANAGER_ROLES),
            Agent.active.is_(True),
            Agent.telegram_chat_id.is_not(None),
        )
    )
    return [(i, c, lang) for i, c, lang in rows.all() if c is not None]
