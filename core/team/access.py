"""Who may do what: the agent behind a Telegram user, role checks, and customer visibility."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import PermissionDenied
from core.models import Agent, Customer, Task

MANAGER_ROLES = frozenset({"manager", "admin"})
# Roles that work a task queue (managers may work tasks too).
QUEUE_ROLES = frozenset({"agent", "support", "delivery", "manager", "admin"})


async def agent_for_telegram_user(session: AsyncSession, telegram_user_id: int) -> Agent | None:
    """The active agent bound to a Telegram user, or None for anyone else."""
    return await session.scalar(
        select(Agent).where(Agent.telegram_user_id == telegram_user_id, Agent.active.is_(True))
    )


def require_role(agent: Agent, roles: Iterable[str]) -> None:
    """PermissionDenied unless the agent is active and has one of the roles."""
    allowed = frozenset(roles)
    if not agent.active or agent.role not in allowed:
        raise PermissionDenied(f"role {agent.role!r} may not do this (needs {sorted(allowed)})")


async def require_customer_access(session: AsyncSession, agent: Agent, customer_id: int) -> None:
    """Managers see every customer; others only customers assigned to them or in their tasks."""
    if agent.role in MANAGER_ROLES:
        return
    own_task = exists().where(Task.customer_id == customer_id, Task.agent_id == agent.id)
    allowed = await session.scalar(
        select(Customer.id).where(
            Customer.id == customer_id,
            (Customer.assigned_agent_id == agent.id) | own_task,
        )
    )
    if allowed is None:
        raise PermissionDenied("this customer is not assigned to you")
