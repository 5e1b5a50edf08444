"""Customer 360: one read of everything the shop knows about a customer, and its text card."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.models import (
    Agent,
    Coupon,
    CouponRule,
    Customer,
    Engagement,
    Order,
    OrderLine,
    Product,
    Task,
    WalletEntry,
)
from core.models.orders import COUNTED_STATUSES
from core.phones import normalize_phone
from core.predictions.outlook import CustomerOutlook, prediction_for_customer


@dataclass(frozen=True)
class OrderItem:
    external_id: str
    order_date: date
    status: str
    total: Decimal
    lines: list[str]


@dataclass(frozen=True)
class ProductStat:
    sku: str
    name: str
    name_bn: str | None
    orders: int
    amount: Decimal
    last_bought: date


@dataclass(frozen=True)
class EngagementItem:
    occurred_at: datetime
    kind: str
    channel: str
    direction: str
    outcome: str | None
    body: str | None


@dataclass(frozen=True)
class TaskItem:
    id: int
    type: str
    status: str
    due_date: date
    reason_en: str


@dataclass(frozen=True)
class CouponItem:
    code: str
    valid_until: date
    discount: str
    times_used: int
    usage_limit: int


@dataclass
class Customer360:
    id: int
    phone: str
    name: str
    district: str | None
    city: str | None
    language: str
    birthday: date | None
    tier: str
    tier_since: date | None
    customer_type: str
    lifecycle_stage: str
    priority_level: str
    segments_as_of: date | None
    first_order_date: date | None
    last_order_date: date | None
    days_since_last_order: int | None
    order_count: int
    ltv: Decimal
    avg_days_between_orders: float | None
    marketing_consent: bool
    opted_out: bool
    whatsapp_status: str
    agent: str | None
    wallet_balance: Decimal
    coupons: list[CouponItem] = field(default_factory=list)
    recent_orders: list[OrderItem] = field(default_factory=list)
    top_products: list[ProductStat] = field(default_factory=list)
    engagements: list[EngagementItem] = field(default_factory=list)
    open_tasks: list[TaskItem] = field(default_factory=list)
    outlook: CustomerOutlook | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates ISO, money as strings)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


async def _find(session: AsyncSession, customer_id: int | None, phone: str | None) -> Customer:
    if customer_id is not None:
        customer = await session.get(Customer, customer_id)
    elif phone is not None:
        try:
            e164 = normalize_phone(phone)
        except InvalidInput as exc:
            raise NotFound(f"{phone!r} is not a Bangladeshi mobile number: {exc}") from exc
        customer = await session.scalar(select(Customer).where(Customer.phone == e164))
    else:
        raise InvalidInput("give a customer id or a phone number")
    if customer is None:
        raise NotFound(f"no customer {phone or customer_id}")
    return customer


async def customer_360(
    session: AsyncSession,
    *,
    customer_id: int | None = None,
    phone: str | None = None,
    as_of: date,
    orders: int = 5,
    engagements: int = 8,
) -> Customer360:
    """Everything about one customer as of a date (NotFound when there is no such customer)."""
    c = await _find(session, customer_id, phone)
    agent = await session.get(Agent, c.assigned_agent_id) if c.assigned_agent_id else None
    wallet = await session.scalar(
        select(func.coalesce(func.sum(WalletEntry.amount), 0)).where(
            WalletEntry.customer_id == c.id
        )
    )
    view = Customer360(
        id=c.id,
        phone=c.phone,
        name=c.name,
        district=c.district,
        city=c.city,
        language=c.language,
        birthday=c.birthday,
        tier=c.tier,
        tier_since=c.tier_since,
        customer_type=c.customer_type,
        lifecycle_stage=c.lifecycle_stage,
        priority_level=c.priority_level,
        segments_as_of=c.segments_as_of,
        first_order_date=c.first_order_date,
        last_order_date=c.last_order_date,
        days_since_last_order=(as_of - c.last_order_date).days if c.last_order_date else None,
        order_count=c.order_count,
        ltv=Decimal(c.total_spend or 0),
        avg_days_between_orders=c.avg_days_between_orders,
        marketing_consent=c.marketing_consent,
        opted_out=c.opted_out_at is not None,
        whatsapp_status=c.whatsapp_status,
        agent=agent.name if agent else None,
        wallet_balance=Decimal(wallet or 0),
    )
    view.recent_orders = await _recent_orders(session, c.id, orders)
    view.top_products = await _top_products(session, c.id)
    view.engagements = [
        EngagementItem(e.occurred_at, e.kind, e.channel, e.direction, e.outcome, e.body)
        for e in await session.scalars(
            select(Engagement)
            .where(Engagement.customer_id == c.id)
            .order_by(Engagement.occurred_at.desc(), Engagement.id.desc())
            .limit(engagements)
        )
    ]
    view.open_tasks = [
        TaskItem(t.id, t.type, t.status, t.due_date, t.reason_en)
        for t in await session.scalars(
            select(Task)
            .where(Task.customer_id == c.id, Task.status == "open")
            .order_by(Task.due_date, Task.id)
        )
    ]
    view.coupons = [
        CouponItem(
            cp.code,
            cp.valid_until,
            f"{rule.discount_pct:g}%"
            if rule.discount_pct is not None
            else f"৳{rule.discount_amount:g}",
            cp.times_used,
            cp.usage_limit,
        )
        for cp, rule in (
            await session.execute(
                select(Coupon, CouponRule)
                .join(CouponRule, CouponRule.id == Coupon.rule_id)
                .where(
                    Coupon.customer_id == c.id,
                    Coupon.valid_until >= as_of,
                    Coupon.times_used < Coupon.usage_limit,
                )
                .order_by(Coupon.valid_until)
            )
        ).all()
    ]
    view.outlook = await prediction_for_customer(session, c.id)
    return view


async def _recent_orders(session: AsyncSession, customer_id: int, limit: int) -> list[OrderItem]:
    recent = (
        await session.scalars(
            select(Order)
            .where(Order.customer_id == customer_id)
            .order_by(Order.ordered_at.desc(), Order.id.desc())
            .limit(limit)
        )
    ).all()
    if not recent:
        return []
    lines: dict[int, list[str]] = {o.id: [] for o in recent}
    rows = await session.execute(
        select(
            OrderLine.order_id, OrderLine.quantity, OrderLine.unit, Product.name, Product.name_bn
        )
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id.in_(lines))
        .order_by(OrderLine.order_id, OrderLine.line_no)
    )
    for order_id, qty, unit, name, name_bn in rows.all():
        lines[order_id].append(f"{name_bn or name} × {Decimal(qty).normalize():f} {unit}")
    return [OrderItem(o.external_id, o.order_date, o.status, o.total, lines[o.id]) for o in recent]


async def _top_products(
    session: AsyncSession, customer_id: int, limit: int = 5
) -> list[ProductStat]:
    n_orders = func.count(func.distinct(Order.id))
    rows = await session.execute(
        select(
            Product.sku,
            Product.name,
            Product.name_bn,
            n_orders,
            func.sum(OrderLine.amount),
            func.max(Order.order_date),
        )
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.customer_id == customer_id, Order.status.in_(COUNTED_STATUSES))
        .group_by(Product.id, Product.sku, Product.name, Product.name_bn)
        .order_by(n_orders.desc(), func.sum(OrderLine.amount).desc(), Product.sku)
        .limit(limit)
    )
    return [
        ProductStat(sku, name, name_bn, n, Decimal(amount or 0), last)
        for sku, name, name_bn, n, amount, last in rows.all()
    ]
