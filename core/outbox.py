"""Queueing customer messages in the outbox, under consent and the contact budget.

Marketing messages count against a per-customer budget (N a day, M in any 7 days, across kinds
and channels). What is over budget is **deferred** to the first day with room (`send_on`), never
dropped. Customers who opted out, lack consent, or cannot be reached are skipped, with a reason.
Service messages (replies, confirmations) bypass the budget but still need a reachable number.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.bulk import among
from core.models import Customer, Message
from core.shopconfig.schema import MessagingConfig
from core.sqlbulk import insert_ignore

BUDGET_STATUSES = ("queued", "sending", "sent", "delivered", "read")


@dataclass(frozen=True)
class OutgoingMessage:
    dedupe_key: str
    customer_id: int
    channel: str  # whatsapp / sms
    template_key: str
    variables: dict[str, Any]
    purpose: str = "marketing"  # marketing / service
    task_id: int | None = None
    campaign_id: int | None = None


@dataclass
class QueueResult:
    queued: int = 0
    deferred: int = 0  # queued, but for a later day because of the contact budget
    skipped: Counter[str] = field(default_factory=Counter)
    send_on: dict[str, date] = field(default_factory=dict)  # dedupe_key → day it may go


def marketing_allowed(c: Customer, policy: str) -> str | None:
    """Why a customer may not get marketing (None when they may)."""
    if c.opted_out_at is not None:
        return "opted_out"
    if policy == "erp_flag" and not c.marketing_consent:
        return "no_consent"
    return None


def reachable_channel(c: Customer, channel: str, purpose: str) -> tuple[str | None, str | None]:
    """The channel a message can use for this customer, or (None, reason)."""
    if not c.phone_valid:
        return None, "invalid_number"
    if channel == "whatsapp":
        if c.whatsapp_status == "no":
            return "sms", None
        if c.whatsapp_status == "blocked" and purpose == "marketing":
            return None, "whatsapp_blocked"
    return channel, None


def first_day_with_room(
    wanted: date, per_day: Counter[date], per_day_cap: int, per_week_cap: int
) -> date:
    """The first day ≥ wanted where one more message keeps every day and 7-day window in budget."""
    day = wanted
    if per_day[day] < per_day_cap and sum(per_day.values()) < per_week_cap:
        return day  # fast path: even all of the customer's counted messages fit in one week
    used = [(d, n) for d, n in per_day.items() if n]
    for _ in range(366):
        if per_day[day] < per_day_cap and _weeks_have_room(day, used, per_week_cap):
            return day
        day += timedelta(days=1)
    raise ValueError("contact budget leaves no day within a year")


def _weeks_have_room(day: date, used: list[tuple[date, int]], per_week_cap: int) -> bool:
    """Whether each of the seven 7-day windows holding `day` has room for one more message."""
    near = [(off, n) for d, n in used if -6 <= (off := (d - day).days) <= 6]
    return all(sum(n for off, n in near if -k <= off <= 6 - k) < per_week_cap for k in range(7))


async def _budget_counts(
    session: AsyncSession, customer_ids: list[int], since: date
) -> dict[int, Counter[date]]:
    counts: dict[int, Counter[date]] = defaultdict(Counter)
    result = await session.execute(
        select(Message.customer_id, Message.send_on, func.count())
        .where(
            among(session, Message.customer_id, customer_ids),
            Message.purpose == "marketing",
            Message.send_on >= since,
            Message.status.in_(BUDGET_STATUSES),
        )
        .group_by(Message.customer_id, Message.send_on)
    )
    for cid, day, n in result.all():
        counts[cid][day] += n
    return counts


async def queue_messages(
    session: AsyncSession,
    messages: Sequence[OutgoingMessage],
    as_of: date,
    cfg: MessagingConfig,
) -> QueueResult:
    """Write messages to the outbox once each (dedupe_key), deferring what is over budget."""
    result = QueueResult()
    if not messages:
        return result
    ids = sorted({m.customer_id for m in messages})
    # only the columns the checks read (no ORM objects: a batch may hold 100,000 customers)
    found = await session.execute(
        select(
            Customer.id,
            Customer.phone_valid,
            Customer.whatsapp_status,
            Customer.opted_out_at,
            Customer.marketing_consent,
            Customer.language,
        ).where(among(session, Customer.id, ids))
    )
    customers: dict[int, Any] = {c.id: c for c in found.all()}
    keys = [m.dedupe_key for m in messages]
    existing: set[str] = set(
        (
            await session.scalars(
                select(Message.dedupe_key).where(among(session, Message.dedupe_key, keys))
            )
        ).all()
    )
    budgets = await _budget_counts(session, ids, as_of - timedelta(days=6))
    rows: list[dict[str, Any]] = []
    for m in messages:
        if m.dedupe_key in existing:
            continue
        customer = customers[m.customer_id]
        channel, why = reachable_channel(customer, m.channel, m.purpose)
        if why is None and m.purpose == "marketing":
            why = marketing_allowed(customer, cfg.consent_policy)
        if why is not None or channel is None:
            result.skipped[why or "unreachable"] += 1
            continue
        send_on = as_of
        if m.purpose == "marketing":
            counts = budgets[m.customer_id]
            send_on = first_day_with_room(
                as_of, counts, cfg.marketing_per_day, cfg.marketing_per_week
            )
            counts[send_on] += 1
            if send_on > as_of:
                result.deferred += 1
        existing.add(m.dedupe_key)
        result.send_on[m.dedupe_key] = send_on
        rows.append(
            {
                "dedupe_key": m.dedupe_key,
                "customer_id": m.customer_id,
                "channel": channel,
                "purpose": m.purpose,
                "template_key": m.template_key,
                "variables": m.variables,
                "language": customer.language,
                "status": "queued",
                "send_on": send_on,
                "queued_on": as_of,
                "task_id": m.task_id,
                "campaign_id": m.campaign_id,
            }
        )
    result.queued = await insert_ignore(session, Message, rows, ["dedupe_key"])
    return result
