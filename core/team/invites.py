"""Single-use, expiring invite codes: a manager creates one, `/start CODE` binds a Telegram user."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, InvalidInput, NotFound
from core.models import Agent, Invite
from core.models.team import ROLES

# Telegram deep-link payloads allow A-Z a-z 0-9 _ - up to 64 characters.
CODE_BYTES = 12


@dataclass(frozen=True)
class CreatedInvite:
    agent_id: int
    code: str
    expires_at: datetime


def new_invite_code() -> str:
    """An unguessable code that is also a valid Telegram deep-link payload."""
    return secrets.token_urlsafe(CODE_BYTES)


async def create_invite(
    session: AsyncSession,
    name: str,
    role: str,
    districts: Sequence[str],
    senior: bool,
    capacity: int | None,
    created_by: int | None,
    now: datetime,
    valid_hours: int,
) -> CreatedInvite:
    """A new (not yet active) agent and a code that activates them once, before it expires."""
    name = name.strip()
    if not name:
        raise InvalidInput("an agent needs a name")
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if capacity is not None and capacity <= 0:
        raise InvalidInput("capacity must be positive")
    agent = Agent(
        name=name,
        role=role,
        senior=senior,
        districts=[d.strip() for d in districts if d.strip()],
        active=False,  # not assignable until the person has joined the bot
    )
    if capacity is not None:
        agent.daily_capacity = capacity
    session.add(agent)
    await session.flush()
    invite = Invite(
        code=new_invite_code(),
        agent_id=agent.id,
        created_by_agent_id=created_by,
        expires_at=now + timedelta(hours=valid_hours),
        created_at=now,
    )
    session.add(invite)
    await session.flush()
    return CreatedInvite(agent.id, invite.code, invite.expires_at)


async def redeem_invite(
    session: AsyncSession, code: str, telegram_user_id: int, chat_id: int, now: datetime
) -> Agent:
    """Bind the Telegram user to the invite's agent; a used, expired or unknown code is refused."""
    invite = await session.scalar(
        select(Invite).where(Invite.code == code.strip()).with_for_update()
    )
    if invite is None:
        raise NotFound("unknown invite code")
    if invite.used_at is not None:
        raise Conflict("this invite code was already used")
    if invite.expires_at <= now:
        raise Conflict("this invite code has expired")
    bound = await session.scalar(
        select(Agent.id).where(
            Agent.telegram_user_id == telegram_user_id, Agent.id != invite.agent_id
        )
    )
    if bound is not None:
        raise Conflict("this Telegram account is already bound to another agent")
    # Single use even under concurrent redemption: only one UPDATE can match used_at IS NULL.
    claimed = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=now, used_by_telegram_id=telegram_user_id)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this invite code was already used")
    agent = await session.get(Agent, invite.agent_id)
    assert agent is not None
    agent.telegram_user_id = telegram_user_id
    agent.telegram_chat_id = chat_id
    agent.active = True
    await session.flush()
    return agent
