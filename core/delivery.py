"""Delivery status from the provider's callbacks: a message's status only ever moves forward.

queued → sending → sent → delivered → read, or → failed / undelivered (terminal), whatever order
the callbacks arrive in. Each change is one conditional UPDATE (the WHERE names the statuses it may
come from), so concurrent or repeated callbacks cannot move a message backwards or act twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.deliverability import FAILED_STATUSES, apply_failure
from core.models import Message
from core.shopconfig import ShopConfig

RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}
TERMINAL = frozenset({"failed", "undelivered", "cancelled"})
# The provider's words for "it has the message and is working on it" are our "sent".
PROVIDER_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "undelivered",
    "canceled": "failed",
}


def our_status(provider_status: str) -> str | None:
    """Our status for a provider status (None for ones that say nothing about delivery)."""
    return PROVIDER_STATUS.get(provider_status.lower())


def predecessors(new: str) -> tuple[str, ...]:
    """The statuses a message may move to `new` from."""
    if new in FAILED_STATUSES:
        return ("queued", "sending", "sent")
    rank = RANK[new]
    return tuple(s for s, r in RANK.items() if r < rank)


def next_status(current: str, incoming: str) -> str | None:
    """The status after a callback, or None when the callback changes nothing."""
    return incoming if current in predecessors(incoming) else None


@dataclass
class StatusResult:
    found: bool
    message_id: int | None = None
    changed: bool = False
    status: str | None = None
    actions: list[str] = field(default_factory=list)


async def _find(session: AsyncSession, sid: str, message_id: int | None) -> Message | None:
    message = await session.scalar(select(Message).where(Message.provider_sid == sid))
    if message is not None:
        return message
    if message_id is None:
        return None
    message = await session.get(Message, message_id)
    if message is None or message.provider_sid not in (None, sid):
        return None
    # the send was never recorded (a crash after create): the callback tells us the sid
    await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.provider_sid.is_(None))
        .values(provider_sid=sid)
    )
    return message


async def record_status(
    session: AsyncSession,
    *,
    sid: str,
    provider_status: str,
    now: datetime,
    cfg: ShopConfig,
    message_id: int | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> StatusResult:
    """Apply one status callback; unknown or backward moves change nothing."""
    message = await _find(session, sid, message_id)
    if message is None:
        return StatusResult(found=False)
    result = StatusResult(found=True, message_id=message.id, status=message.status)
    new = our_status(provider_status)
    if new is None:
        return result
    values: dict[str, Any] = {"status": new, "updated_at": now}
    if new in FAILED_STATUSES:
        values |= {"failed_at": now, "error_code": error_code, "error_message": error_message}
    else:
        values["sent_at"] = func.coalesce(Message.sent_at, now)
        if new in ("delivered", "read"):
            values["delivered_at"] = func.coalesce(Message.delivered_at, now)
        if new == "read":
            values["read_at"] = func.coalesce(Message.read_at, now)
    changed = await session.execute(
        update(Message)
        .where(Message.id == message.id, Message.status.in_(predecessors(new)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return result
    await session.refresh(message)
    result.changed, result.status = True, new
    if new in FAILED_STATUSES:
        result.actions = await apply_failure(session, message, error_code, now, cfg)
    return result
