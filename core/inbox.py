"""The inbox: customers' messages stored as received, then processed one by one, in order.

Receiving is one INSERT … ON CONFLICT (provider_sid) DO NOTHING for a whole batch of webhooks
(the provider's retry of a message it already delivered is stored once). Processing takes the
oldest unprocessed row, claims it with a conditional UPDATE of `processed_at` (a second worker,
or a second pass, finds nothing to do) and runs `handle_inbound` in the same transaction: the
work and the mark commit together, so a crash in between leaves the row to be processed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import InboundMessage
from core.replies import Inbound, InboundResult, handle_inbound
from core.shopconfig import ShopConfig
from core.sqlbulk import insert_ignore


@dataclass(frozen=True)
class Received:
    """A webhook's message, as the provider posted it."""

    provider_sid: str
    sender: str
    body: str
    received_at: datetime
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingInbound:
    id: int
    provider_sid: str
    sender: str
    attempts: int


async def store_received(session: AsyncSession, received: Sequence[Received]) -> int:
    """Store a batch of received messages (a provider retry is stored once); returns how many were new."""
    rows = [
        {
            "provider_sid": r.provider_sid,
            "sender": r.sender[:64],
            "body": r.body,
            "params": r.params,
            "received_at": r.received_at,
        }
        for r in received
    ]
    return await insert_ignore(session, InboundMessage, rows, ["provider_sid"])


async def pending_inbound(session: AsyncSession, limit: int) -> list[PendingInbound]:
    """The oldest unprocessed messages, in the order they were received."""
    rows = await session.execute(
        select(
            InboundMessage.id,
            InboundMessage.provider_sid,
            InboundMessage.sender,
            InboundMessage.attempts,
        )
        .where(InboundMessage.processed_at.is_(None))
        .order_by(InboundMessage.id)
        .limit(limit)
    )
    return [PendingInbound(*row) for row in rows]


async def process_inbound(
    session: AsyncSession, inbound_id: int, cfg: ShopConfig, now: datetime, *, erp: bool = False
) -> InboundResult | None:
    """Claim and process one stored message in the caller's transaction (None: already done).

    Raises what `handle_inbound` raises (InvalidInput for a sender that is not a Bangladeshi
    mobile number): the caller's transaction then rolls back, claim included.
    """
    claimed = (
        await session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id, InboundMessage.processed_at.is_(None))
            .values(processed_at=now, attempts=InboundMessage.attempts + 1)
            .returning(
                InboundMessage.sender,
                InboundMessage.body,
                InboundMessage.provider_sid,
                InboundMessage.received_at,
                InboundMessage.params,
            )
            .execution_options(synchronize_session=False)
        )
    ).first()
    if claimed is None:
        return None
    sender, body, sid, received_at, params = claimed
    inbound = Inbound(
        sender=sender,
        body=body,
        provider_sid=sid,
        received_at=received_at,
        profile_name=(params or {}).get("ProfileName") or None,
    )
    return await handle_inbound(session, inbound, cfg, erp=erp)


async def record_inbound_failure(
    session: AsyncSession, inbound_id: int, error: str, now: datetime, *, give_up: bool
) -> None:
    """Note a failed attempt; after the last one (or one that can never work: `give_up`) the row
    is set aside, processed, with its error."""
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.processed_at.is_(None))
        .values(
            attempts=InboundMessage.attempts + 1,
            error=error[:2000],
            processed_at=now if give_up else None,
        )
        .execution_options(synchronize_session=False)
    )
