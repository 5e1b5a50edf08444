"""The consent ledger (opt-ins and opt-outs with source and time) and the marketing policy.

Policy (`cfg.messaging.consent_policy`):
- `erp_flag` (default): marketing only to customers whose ERP consent flag is set, and who have
  not opted out since;
- `opt_out_only`: marketing to everyone who has not opted out.
Service messages (replies, confirmations) need no marketing consent.
An opt-out cancels the customer's queued marketing at once; the dispatcher re-checks at send time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ConsentEvent, Customer, Message
from core.outbox import marketing_allowed


def block_reason(
    customer: Customer, channel: str, purpose: str, policy: str, now: datetime
) -> str | None:
    """Why a message may not go to this customer now (None when it may); checked at send time."""
    if not customer.phone_valid:
        return "invalid_number"
    if purpose != "marketing":
        return None
    why = marketing_allowed(customer, policy)
    if why is not None:
        return why
    if channel == "whatsapp" and customer.whatsapp_status == "blocked":
        return "whatsapp_blocked"
    return None


def marketing_paused(customer: Customer, now: datetime) -> datetime | None:
    """Until when marketing to the customer waits (Meta's marketing cap), or None."""
    until = customer.marketing_paused_until
    return until if until is not None and until > now else None


def log_consent(
    session: AsyncSession,
    customer_id: int,
    kind: str,
    source: str,
    at: datetime,
    detail: str | None = None,
    channel: str = "all",
) -> None:
    """Append one opt-in or opt-out to the consent ledger (the caller's transaction)."""
    session.add(
        ConsentEvent(
            customer_id=customer_id,
            kind=kind,
            channel=channel,
            source=source,
            occurred_at=at,
            detail=(detail or "")[:500] or None,
        )
    )


async def record_opt_out(
    session: AsyncSession,
    customer: Customer,
    source: str,
    at: datetime,
    detail: str | None = None,
    channel: str = "all",
) -> int:
    """Opt the customer out of marketing, log it, cancel their queued marketing; returns cancelled."""
    if customer.opted_out_at is None:
        customer.opted_out_at = at
    log_consent(session, customer.id, "opt_out", source, at, detail, channel)
    result = await session.execute(
        update(Message)
        .where(
            Message.customer_id == customer.id,
            Message.purpose == "marketing",
            Message.status == "queued",
        )
        .values(status="cancelled", error_code="opted_out", error_message="customer opted out")
    )
    await session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def record_opt_in(
    session: AsyncSession,
    customer: Customer,
    source: str,
    at: datetime,
    detail: str | None = None,
    channel: str = "all",
) -> None:
    """Opt the customer back in (clears the opt-out, sets the consent flag) and log it."""
    customer.opted_out_at = None
    customer.marketing_consent = True
    log_consent(session, customer.id, "opt_in", source, at, detail, channel)
    await session.flush()
