"""What the shop holds, in a few numbers for the demo's closing table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.models import Agent, Customer, Order, OrderLine, Product
from core.models.orders import COUNTED_STATUSES

SEGMENT_FIELDS = ("lifecycle_stage", "priority_level", "customer_type")


@dataclass
class DemoSummary:
    customers: int
    orders: int
    counted_orders: int
    revenue: Decimal  # total of counted orders (delivered, pending)
    order_lines: int
    products: int
    agents: int
    first_order_date: date | None
    last_order_date: date | None
    segments: dict[str, dict[str, int]] = field(default_factory=dict)  # field -> value -> count
    tiers: dict[str, int] = field(default_factory=dict)
    samples: list[tuple[str, str]] = field(default_factory=list)  # (why, phone) to try


async def shop_is_empty(session: AsyncSession) -> bool:
    """True when the shop has neither customers nor orders."""
    has_any = select(exists().select_from(Customer)).scalar_subquery()
    has_orders = select(exists().select_from(Order)).scalar_subquery()
    row = (await session.execute(select(has_any, has_orders))).one()
    return not row[0] and not row[1]


async def shop_summary(session: AsyncSession) -> DemoSummary:
    """Customers, orders, revenue, catalogue, team, segment and tier split of the shop."""
    counted = Order.status.in_(COUNTED_STATUSES)
    orders, counted_orders, revenue, first, last = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(counted),
                func.coalesce(func.sum(Order.total).filter(counted), 0),
                func.min(Order.order_date).filter(counted),
                func.max(Order.order_date).filter(counted),
            )
        )
    ).one()
    summary = DemoSummary(
        customers=await _count(session, Customer),
        orders=orders,
        counted_orders=counted_orders,
        revenue=Decimal(revenue).quantize(Decimal("0.01")),
        order_lines=await _count(session, OrderLine),
        products=await _count(session, Product),
        agents=await _count(session, Agent),
        first_order_date=first,
        last_order_date=last,
    )
    for name in SEGMENT_FIELDS:
        summary.segments[name] = await _split(session, getattr(Customer, name))
    summary.tiers = await _split(session, Customer.tier)
    summary.samples = await _samples(session)
    return summary


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _split(session: AsyncSession, column: InstrumentedAttribute[str]) -> dict[str, int]:
    rows = await session.execute(
        select(column, func.count()).group_by(column).order_by(func.count().desc(), column)
    )
    return {str(value): int(n) for value, n in rows.all()}


async def _samples(session: AsyncSession) -> list[tuple[str, str]]:
    """Three customers worth a look: the top spender, the most regular buyer, the newest."""
    found: list[tuple[str, str]] = []
    top = await session.scalar(
        select(Customer.phone).order_by(Customer.total_spend.desc(), Customer.id).limit(1)
    )
    repeat = (
        select(Order.customer_id, func.count(func.distinct(Order.order_date)).label("times"))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.status.in_(COUNTED_STATUSES))
        .group_by(Order.customer_id, OrderLine.product_id)
        .order_by(func.count(func.distinct(Order.order_date)).desc(), Order.customer_id)
        .limit(1)
        .subquery()
    )
    regular = await session.scalar(
        select(Customer.phone).join(repeat, repeat.c.customer_id == Customer.id)
    )
    newest = await session.scalar(
        select(Customer.phone)
        .where(Customer.first_order_date.is_not(None))
        .order_by(Customer.first_order_date.desc(), Customer.id.desc())
        .limit(1)
    )
    for why, phone in (
        ("top spender", top),
        ("most regular buyer", regular),
        ("newest customer", newest),
    ):
        if phone is not None and phone not in {p for _, p in found}:
            found.append((why, phone))
    return found
