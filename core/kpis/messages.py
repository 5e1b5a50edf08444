"""The message funnel: queued → sent → delivered → read, failed, replied — one definition of each.

By status (a campaign's cumulative funnel):
- queued: every outbox row (any status);
- sent: send attempts, i.e. rows that left the outbox: sent, delivered, read, failed, undelivered;
- delivered: delivered or read;  read: read;  failed: failed or undelivered;
- delivery rate = delivered / sent.

By day (the daily summary), each message counted on the shop-local day its event happened:
queued on `queued_on`; sent when first handed over (sent_at, else delivered_at, read_at,
failed_at); delivered at delivered_at (else read_at); read at read_at; failed at failed_at with a
failed/undelivered status; replied = inbound engagements (direction "in") that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from core.kpis.results import JsonResult
from core.kpis.sql import day_bounds
from core.models import Engagement, Message

SENT_STATUSES = ("sent", "delivered", "read", "failed", "undelivered")
DELIVERED_STATUSES = ("delivered", "read")
READ_STATUSES = ("read",)
FAILED_STATUSES = ("failed", "undelivered")


@dataclass(frozen=True)
class MessageFunnel(JsonResult):
    queued: int
    sent: int
    delivered: int
    read: int
    failed: int
    replied: int


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def day_funnel(session: AsyncSession, day: date) -> MessageFunnel:
    """Messages queued, sent, delivered, read and failed on a shop-local day, and replies received."""
    lo, hi = day_bounds(day, day)

    def within(instant: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[bool]:
        return and_(instant >= lo, instant < hi)

    sent_at = func.coalesce(
        Message.sent_at, Message.delivered_at, Message.read_at, Message.failed_at
    )
    row = (
        await session.execute(
            select(
                _count_if(Message.queued_on == day),
                _count_if(within(sent_at)),
                _count_if(within(func.coalesce(Message.delivered_at, Message.read_at))),
                _count_if(within(Message.read_at)),
                _count_if(and_(within(Message.failed_at), Message.status.in_(FAILED_STATUSES))),
            )
        )
    ).one()
    replied = await session.scalar(
        select(func.count()).where(Engagement.direction == "in", Engagement.occurred_on == day)
    )
    queued, sent, delivered, read, failed = (int(v) for v in row)
    return MessageFunnel(
        queued=queued,
        sent=sent,
        delivered=delivered,
        read=read,
        failed=failed,
        replied=replied or 0,
    )


def status_counts() -> tuple[ColumnElement[int], ...]:
    """Aggregates (queued, sent, delivered, read, failed) over message rows, by status."""
    return (
        func.count(),
        _count_if(Message.status.in_(SENT_STATUSES)),
        _count_if(Message.status.in_(DELIVERED_STATUSES)),
        _count_if(Message.status.in_(READ_STATUSES)),
        _count_if(Message.status.in_(FAILED_STATUSES)),
    )
